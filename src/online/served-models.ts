import { SluiceError } from '../core/errors.js';
import type { ModelRunner } from '../model/index.js';
import { compareVersions } from './config.js';

/** The part of a ModelRunner that /v2 uses (a structural type, so tests may pass runners only). */
export type ServedRunner = Pick<ModelRunner, 'name' | 'inputs' | 'outputs' | 'featureCount' | 'infer'>;

export interface ServedVersion {
  /** The name clients use. */
  served: string;
  version: string;
  /** The topology model behind it. */
  model: string;
  runner: ServedRunner;
}

/**
 * What /v2 serves: names, each with one or more versions side by side, each version a
 * loaded model. The unversioned path serves the latest version.
 */
export class ServedModels {
  private readonly byName = new Map<string, ServedVersion[]>();

  constructor(layout: ReadonlyMap<string, ReadonlyMap<string, string>>, runners: ReadonlyMap<string, ServedRunner>) {
    for (const [served, versions] of layout) {
      const list: ServedVersion[] = [];
      for (const [version, model] of versions) {
        const runner = runners.get(model);
        if (!runner) throw new SluiceError('INVALID_TOPOLOGY', `online.models.${served}.versions.${version}: model "${model}" is not loaded`);
        list.push({ served, version, model, runner });
      }
      list.sort((a, b) => compareVersions(a.version, b.version));
      this.byName.set(served, list);
    }
  }

  names(): string[] {
    return [...this.byName.keys()];
  }

  versionsOf(name: string): string[] {
    return (this.byName.get(name) ?? []).map((v) => v.version);
  }

  /** A served model and version (default: the latest); NOT_FOUND names what exists. */
  resolve(name: string, version?: string): ServedVersion {
    const list = this.byName.get(name);
    if (!list) throw new SluiceError('NOT_FOUND', `unknown model "${name}"; served models: ${this.names().join(', ') || 'none'}`);
    if (version === undefined) return list[list.length - 1]!;
    const v = list.find((x) => x.version === version);
    if (!v) throw new SluiceError('NOT_FOUND', `model "${name}" has no version "${version}"; its versions: ${list.map((x) => x.version).join(', ')}`);
    return v;
  }
}
