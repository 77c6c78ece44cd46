import { loadConnectionFile, resolveConnection, type ResolvedConnection } from '../runtime/connection.js';
import type { LoadedTopology } from '../topology/load.js';

/** Resolves a command's connection: `--connection FILE` > the topology's block > SLUICE_KAFKA_* > embedded. */
export function connectionFor(loaded: LoadedTopology, file: string | undefined): ResolvedConnection {
  return resolveConnection(loaded.definition, loaded.baseDir, { file: file ? loadConnectionFile(file) : undefined });
}
