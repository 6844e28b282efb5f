// example.mjs (plain JavaScript, and TypeScript as it is) — TOKEN=<a seeker token from scripts/up> node example.mjs
import { SeekerClient, TetherApi, TetherError } from '@tether/client';
import { WebSocket } from 'ws'; // Node 18/20 only: browsers, React Native and Node 22 have one

const options = { url: 'http://127.0.0.1:8080', token: () => process.env.TOKEN, WebSocket, connectTimeoutMs: 15_000 };
const seeker = new SeekerClient(options);
seeker.onState((s) => console.log('socket', s.state, s.error ? `(${s.error.message})` : ''));
seeker.on('work_accepted', (m) => console.log('session', m.session_id));
seeker.on('chat_message', (m) => {
  console.log('provider says', m.message); // acknowledged (delivered) for you
  seeker.markRead(m.message_id); // kept and sent again until the server has it
});
try {
  await seeker.connect(); // a bad token rejects: TetherConnectionError, code unauthorized, status 401
} catch (error) {
  console.error('not connected:', error instanceof TetherError ? `${error.code} ${error.status ?? ''}` : error);
  process.exit(1);
}
console.log(await new TetherApi(options).nearbyProviders({ latitude: 52.52, longitude: 13.405 }));
