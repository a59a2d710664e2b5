// SMTP sink for the send and smtp benchmarks, run as its own process (fork) so the sink's CPU does not
// count against the sender. It accepts everything, keeps nothing, and reports counts
// over IPC: { port } once listening, then { count, distinct } for every 'count' request.
import { SMTPServer } from 'smtp-server';

const seen = new Set<string>();
let count = 0;
const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS'],
  logger: false,
  size: 10 * 1024 * 1024,
  maxClients: 10_000,
  onData(stream, session, callback) {
    stream.on('data', () => {});
    stream.on('end', () => {
      for (const r of session.envelope.rcptTo) seen.add(r.address);
      count++;
      callback();
    });
  },
});
server.listen(0, '127.0.0.1', () => {
  const address = server.server.address();
  process.send?.({ port: typeof address === 'object' && address ? address.port : 0 });
});
process.on('message', (message) => {
  if (message === 'count') process.send?.({ count, distinct: seen.size });
  if (message === 'reset') {
    count = 0;
    seen.clear();
    process.send?.({ count, distinct: 0 });
  }
  if (message === 'stop') server.close(() => process.exit(0));
});
