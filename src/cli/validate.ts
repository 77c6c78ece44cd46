import { loadTopologyFile } from '../topology/load.js';
import { operatorCatalog } from '../operators/index.js';
import { requirePositional } from './args.js';

export async function validateCommand(argv: string[]): Promise<number> {
  const file = requirePositional('validate', argv, 'the topology FILE');
  const { definition: d } = loadTopologyFile(file, operatorCatalog);
  const kinds = d.pipeline.map((s) => Object.keys(s)[0]).join(' → ');
  process.stdout.write(`${file}: valid topology "${d.name}": sources ${Object.keys(d.sources).join(', ')}; ${kinds}; sinks ${Object.keys(d.sinks).join(', ')}\n`);
  return 0;
}
