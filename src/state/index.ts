// Placeholder so the operator interface compiles while the state layer is being written.
export interface StateWrite {
  key: string;
  value: Buffer | undefined;
}
export interface KeyedStateBackend {
  load(keys: string[]): Promise<void>;
  drainWrites(): StateWrite[];
}
