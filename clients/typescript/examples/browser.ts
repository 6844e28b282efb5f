// In a browser (or React Native, or Node 22): the platform's own WebSocket and fetch.
import { ProviderClient, TetherApi } from '@tether/client';

const options = { url: location.origin, token: () => sessionStorage.getItem('tether-token'), WebSocket };
const provider = new ProviderClient(options);
const api = new TetherApi(options);
provider.on('work_assigned', async (order) => {
  const answer = await provider.respondToWork(order.work_id, true);
  if (answer.type === 'work_accepted') console.log('session', answer.session_id);
});
provider.on('chat_message', (m) => void provider.markRead(m.message_id));
await provider.connect();
await api.putProviderStatus({ is_active: true, service_types: ['plumbing'], latitude: 52.52, longitude: 13.405 });
