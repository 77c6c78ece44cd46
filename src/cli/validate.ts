import { loadTopologyFile } from '../topology/load.js';
import { keyedStatePoints, repartitionTopic, stepId } from '../topology/plan.js';
import { TopologyError } from '../topology/issues.js';
import { operatorCatalog } from '../operators/index.js';
import { preflightIssues } from '../runtime/preflight.js';
import { describeConnection } from '../runtime/connection.js';
import { parse, requirePositional } from './args.js';
import { connectionFor } from './connection.js';

export async function validateCommand(argv: string[]): Promise<number> {
  const args = parse('validate', argv, { connection: { type: 'string' } });
  const file = requirePositional('validate', args.positionals, 'the topology FILE');
  const loaded = loadTopologyFile(file, operatorCatalog);
  // Then what `run` would refuse at start: models, UDF modules, input files.
  const issues = await preflightIssues(loaded);
  if (issues.length) throw new TopologyError(issues, file, loaded.locate);
  const d = loaded.definition;
  const connection = connectionFor(loaded, args.str('connection'));
  const kinds = d.pipeline.map((s) => Object.keys(s)[0]).join(' → ');
  let text = `${file}: valid topology "${d.name}": sources ${Object.keys(d.sources).join(', ')}; ${kinds}; sinks ${Object.keys(d.sinks).join(', ')}; topics on ${describeConnection(connection)}\n`;
  for (const i of keyedStatePoints(d.pipeline)) {
    const step = d.pipeline[i]!;
    const id = stepId(step, i);
    const asked = (step.keyBy as { partitions?: number }).partitions;
    const when = asked === undefined ? 'when the input has more than one partition; partitions: the most of any input' : `always; partitions: ${asked}`;
    text += `  repartition: pipeline[${i}] keyBy "${id}" feeds keyed state, so records go through the internal topic "${repartitionTopic(d.name, id)}" (${when})\n`;
  }
  process.stdout.write(text);
  return 0;
}
