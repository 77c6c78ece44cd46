/** sluice-auth: optional bearer tokens (401 without one, 403 for one not accepted); health probes stay open. */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { SluiceError } from '../../core/errors.js';
import { sendError } from './core.js';

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

async function auth(app: FastifyInstance, o: { tokens: string[] }): Promise<void> {
  if (!o.tokens.length) return;
  // Compared as digests so the comparison takes the same time whatever the token's length.
  const accepted = o.tokens.map(digest);
  app.addHook('onRequest', async (req, reply) => {
    if (req.url.startsWith('/v2/health/')) return;
    const h = req.headers.authorization;
    const m = h === undefined ? null : /^Bearer\s+(.+)$/i.exec(h);
    if (!m) {
      app.sluice.metrics.rejections.inc({ reason: 'unauthorized' });
      return sendError(req, reply, new SluiceError('UNAUTHORIZED', 'this server requires a bearer token: send the header "Authorization: Bearer <token>"'));
    }
    const d = digest(m[1]!.trim());
    if (!accepted.some((a) => timingSafeEqual(a, d))) {
      app.sluice.metrics.rejections.inc({ reason: 'forbidden' });
      return sendError(req, reply, new SluiceError('FORBIDDEN', 'the bearer token is not accepted by this server'));
    }
  });
}

export const authPlugin = fp(auth, { name: 'sluice-auth', fastify: '5.x', dependencies: ['sluice-core'] });
