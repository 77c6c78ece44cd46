// Prints N demo transactions as JSON lines (deterministic), with a few malformed ones
// so the dead-letter topic has something to show: `node dist/examples/demo/make-events.js 10000`.
const n = Number(process.argv[2] ?? 1000);
const badEvery = Number(process.argv[3] ?? 500);
let seed = 42;
const rnd = (): number => (seed = (seed * 1664525 + 1013904223) % 4294967296) / 4294967296;
const countries = ['US', 'US', 'US', 'CA', 'MX', 'GB', 'FR'];
let out = '';
for (let i = 0; i < n; i++) {
  if (badEvery > 0 && i % badEvery === badEvery - 1) {
    out += i % (2 * badEvery) === 2 * badEvery - 1 ? '{"card": "c1", "amount": \n' : JSON.stringify({ card: `c${i % 97}`, amount: 'a lot', country: 'US', home_country: 'US', channel: 'pos', merchant_risk: 0.1, velocity_1h: 1, age_days: 100, prior_chargebacks: 0 }) + '\n';
    continue;
  }
  out += JSON.stringify({
    card: `c${Math.floor(rnd() * 5000)}`,
    amount: Math.round(rnd() * rnd() * 200000) / 100,
    country: countries[Math.floor(rnd() * countries.length)],
    home_country: 'US',
    channel: rnd() < 0.4 ? 'web' : 'pos',
    merchant_risk: Math.round(rnd() * 100) / 100,
    velocity_1h: Math.floor(rnd() * 8),
    age_days: Math.floor(rnd() * 3000),
    prior_chargebacks: rnd() < 0.05 ? 1 : 0,
  }) + '\n';
  if (out.length > 1 << 20) {
    process.stdout.write(out);
    out = '';
  }
}
process.stdout.write(out);
