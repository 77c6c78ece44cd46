import avro from 'avsc';
import type { EmbeddedLog } from '../embedded/index.js';
import { SchemaLookupError, type SchemaStore } from './store.js';

const ID_PREFIX = 'schemas/id/';
const SUBJECT_PREFIX = 'schemas/subject/';

interface Entry { id: number; subject: string; version: number; schema: string }

const stores = new WeakMap<EmbeddedLog, Promise<EmbeddedSchemaStore>>();

/**
 * Schemas kept durably beside the embedded log when no registry is configured. Ids and
 * versions are handed out the way a Confluent registry does (one global id sequence, the
 * same id for the same schema text, versions per subject, BACKWARD compatibility checked
 * against the subject's latest version), so topic bytes use the same wire format.
 * Everything is loaded at open; writes go through the log's atomic commit.
 */
export class EmbeddedSchemaStore implements SchemaStore {
  readonly where = 'the embedded schema store';
  private readonly byIdMap = new Map<number, Entry>();
  private readonly bySubject = new Map<string, Entry[]>();
  private readonly idOfText = new Map<string, number>();
  private nextId = 1;
  private writes: Promise<unknown> = Promise.resolve();

  private constructor(private readonly log: EmbeddedLog) {}

  /** The store of an open log: one per log (two would hand out the same ids), loaded on first use. */
  static open(log: EmbeddedLog): Promise<EmbeddedSchemaStore> {
    let p = stores.get(log);
    if (!p) {
      p = (async () => {
        const s = new EmbeddedSchemaStore(log);
        for await (const [, value] of log.scanKv(ID_PREFIX)) s.remember(JSON.parse(value.toString('utf8')) as Entry);
        return s;
      })();
      stores.set(log, p);
      p.catch(() => stores.delete(log));
    }
    return p;
  }

  async byId(id: number): Promise<string> {
    const e = this.byIdMap.get(id);
    if (!e) throw new SchemaLookupError(`schema id ${id}: not found in ${this.where} (it holds ids 1..${this.nextId - 1})`, true);
    return e.schema;
  }

  async lookup(subject: string, schema: string): Promise<number | undefined> {
    const id = this.idOfText.get(normalize(schema));
    return id !== undefined && this.bySubject.get(subject)?.some((e) => e.id === id) ? id : undefined;
  }

  async latest(subject: string): Promise<{ id: number; version: number; schema: string } | undefined> {
    const versions = this.bySubject.get(subject);
    const e = versions?.[versions.length - 1];
    return e && { id: e.id, version: e.version, schema: e.schema };
  }

  register(subject: string, schema: string): Promise<number> {
    // One registration at a time: ids and versions are handed out in order.
    const p = this.writes.then(() => this.registerNow(subject, schema));
    this.writes = p.catch(() => undefined);
    return p;
  }

  async close(): Promise<void> {
    await this.writes;
  }

  private async registerNow(subject: string, schema: string): Promise<number> {
    const text = normalize(schema);
    const found = await this.lookup(subject, text);
    if (found !== undefined) return found;
    let type: avro.Type;
    try {
      type = avro.Type.forSchema(JSON.parse(text) as avro.Schema);
    } catch (err) {
      throw new SchemaLookupError(`subject "${subject}": not a valid Avro schema: ${(err as Error).message}`, false);
    }
    const prev = await this.latest(subject);
    if (prev) {
      try {
        type.createResolver(avro.Type.forSchema(JSON.parse(prev.schema) as avro.Schema));
      } catch (err) {
        throw new SchemaLookupError(`${this.where} refused the schema for subject "${subject}": it cannot read data written with version ${prev.version} (BACKWARD compatibility: ${(err as Error).message}); add new fields with defaults`, false);
      }
    }
    const id = this.idOfText.get(text) ?? this.nextId;
    const entry: Entry = { id, subject, version: (prev?.version ?? 0) + 1, schema: text };
    await this.log.commit({
      kv: [
        { key: `${ID_PREFIX}${String(id).padStart(10, '0')}${id === this.nextId ? '' : `/${subject}`}`, value: JSON.stringify(entry) },
        { key: `${SUBJECT_PREFIX}${subject}\u0000${String(entry.version).padStart(10, '0')}`, value: String(id) },
      ],
    });
    this.remember(entry);
    return id;
  }

  private remember(e: Entry): void {
    if (!this.byIdMap.has(e.id)) this.byIdMap.set(e.id, e);
    const versions = this.bySubject.get(e.subject) ?? [];
    versions.push(e);
    versions.sort((a, b) => a.version - b.version);
    this.bySubject.set(e.subject, versions);
    this.idOfText.set(e.schema, e.id);
    if (e.id >= this.nextId) this.nextId = e.id + 1;
  }
}

/** One text per schema, whatever its whitespace, so the same schema gets the same id. */
function normalize(schema: string): string {
  return JSON.stringify(JSON.parse(schema));
}
