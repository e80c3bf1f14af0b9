// Test servers end at once: kept-alive connections closed, not waited out.
import type { Server } from 'node:http';

export function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}
