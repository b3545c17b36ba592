// shutdownOnExit around a stand-in whose shutdown says when it begins and ends, and waits for APP_SHUTDOWN:
// `hang` never ends; `quick` ends at once. With APP_OWN_SIGTERM=1 the application listens for SIGTERM
// itself, awaits the shutdown, and exits with code 3.
import { shutdownOnExit } from 'llamonitor-otel';

const target = {
  shutdown() {
    console.log('shutdown began');
    if (process.env.APP_SHUTDOWN === 'hang') return new Promise(() => {});
    console.log('shutdown ended');
    return Promise.resolve();
  },
};
const shutdown = shutdownOnExit(target);
if (process.env.APP_OWN_SIGTERM === '1') {
  process.on('SIGTERM', async () => {
    await shutdown();
    console.log('the application exits by itself');
    process.exit(3);
  });
}
console.log('ready');
setInterval(() => {}, 60_000);
