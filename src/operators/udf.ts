import { Type } from '@sinclair/typebox';

/** `udf: { module: ./udfs.js, export: name }`: code comes only from modules named like this. */
export const UdfSchema = Type.Object(
  {
    module: Type.String({ minLength: 1 }),
    export: Type.Optional(Type.String({ minLength: 1 })),
  },
  { additionalProperties: false },
);

export interface UdfRef {
  module: string;
  export?: string;
}

export function udfExport(ref: UdfRef): string {
  return ref.export ?? 'default';
}
