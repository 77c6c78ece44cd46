// Makes sure a schema registry answers for benchmarks that need one, starting the project's
// own (scripts/registry/start.sh) on a loopback port when none does.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

async function answers(url: string): Promise<boolean> {
  try {
    return (await fetch(`${url}/config`, { signal: AbortSignal.timeout(2000) })).ok;
  } catch {
    return false;
  }
}

function runScript(name: string, port: number): Promise<void> {
  const script = fileURLToPath(new URL(`../../../scripts/registry/${name}`, import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [script], { stdio: ['ignore', process.stderr, process.stderr], env: { ...process.env, REGISTRY_PORT: String(port) } });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`scripts/registry/${name} exited with ${code}`))));
  });
}

/** Returns a function that stops the registry again if (and only if) this call started it. */
export async function ensureRegistry(url: string): Promise<{ started: boolean; stop: () => Promise<void> }> {
  if (await answers(url)) return { started: false, stop: async () => {} };
  const m = /^http:\/\/(127\.0\.0\.1|localhost):(\d+)\/?$/.exec(url);
  if (!m) throw new Error(`no schema registry answers at ${url}, and only a http://127.0.0.1:PORT address can be started here`);
  const port = Number(m[2]);
  process.stderr.write(`registry: none at ${url}; starting one with scripts/registry/start.sh\n`);
  await runScript('start.sh', port);
  return { started: true, stop: () => runScript('stop.sh', port) };
}
