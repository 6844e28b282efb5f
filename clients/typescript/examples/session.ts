// The session as one object that keeps itself current, and fixes sent as the server asks.
import { LocationReporter, SeekerClient, TetherApi, TetherSession, verifyTimeline } from '@tether/client';

const options = { url: location.origin, token: () => sessionStorage.getItem('tether-token'), WebSocket };
const seeker = new SeekerClient(options);
const api = new TetherApi(options);
// Follows the seeker's current session; with `api`, reads the snapshot and the latest
// messages when a session is taken up and after every reconnect.
const session = new TetherSession(seeker, { api });
session.on('change', () => {
  const { state, distance, stage, peer, cadence, messages } = session;
  console.log(state, distance?.formatted, distance?.trend, distance?.etaSeconds, stage, peer?.status, cadence?.band, messages.length);
});
session.on('stage', (stage) => stage === 'arrived' && console.log('the provider is here'));
session.on('message', (m) => {
  if (!m.mine && m.message_id && m.delivery_status !== 'read') void session.markRead(m.message_id);
});
session.on('state', async (state) => {
  if (state !== 'completed' || !session.id) return;
  const check = await verifyTimeline(await api.timeline(session.id)); // WebCrypto SHA-256
  console.log(check.ok ? `timeline verified: ${check.events} events` : `timeline broken: ${check.message}`);
});
// Every fix the device reports; the reporter sends what the cadence asks for.
const reporter = new LocationReporter(session, { onError: (e) => console.warn('fix refused', e.code) });
navigator.geolocation.watchPosition((p) => reporter.report({ latitude: p.coords.latitude, longitude: p.coords.longitude }));
await seeker.connect();
document.querySelector('form')?.addEventListener('submit', (event) => {
  event.preventDefault();
  void session.sendChat('On my way?'); // shown at once (pending), then stored, then its receipts
});
