/** Bytes of an artifact read to recognise an ONNX model. */
export const ONNX_HEADER_BYTES = 4096;

/**
 * The top-level fields of onnx.ModelProto and their protobuf wire types (0 varint, 2 length
 * delimited), from onnx/onnx.proto.
 */
const MODEL_FIELDS: ReadonlyMap<number, number> = new Map([
  [1, 0], // ir_version
  [2, 2], // producer_name
  [3, 2], // producer_version
  [4, 2], // domain
  [5, 0], // model_version
  [6, 2], // doc_string
  [7, 2], // graph
  [8, 2], // opset_import
  [14, 2], // metadata_props
  [20, 2], // training_info
  [25, 2], // functions
  [26, 2], // configuration
]);

/**
 * Why the start of an artifact is not an ONNX model, or undefined when it reads as one: its
 * top-level protobuf fields, as far as `prefix` holds them, must all be fields of
 * onnx.ModelProto with their wire types, and `ir_version` must come before the first field that
 * runs past the prefix (exporters write fields in number order). It recognises the format, it
 * does not validate the model (onnxruntime-web does when it loads it).
 *
 * @param prefix - the artifact's first bytes (up to {@link ONNX_HEADER_BYTES})
 * @param complete - whether `prefix` is the whole artifact
 * @example
 * onnxHeaderProblem(new TextEncoder().encode("not a model"), true) // "byte 0: field 14 with wire type 6 …"
 */
export function onnxHeaderProblem(prefix: Uint8Array, complete: boolean): string | undefined {
  let at = 0;
  let irVersion = false;
  const varint = (): number | undefined => {
    let n = 0;
    for (let shift = 0; shift < 63 && at < prefix.length; shift += 7) {
      const b = prefix[at++]!;
      n += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return n;
    }
    return undefined;
  };
  if (prefix.length === 0) return "the artifact is empty";
  while (at < prefix.length) {
    const start = at;
    const tag = varint();
    if (tag === undefined) return complete ? `byte ${start}: a truncated field tag` : undefined;
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    if (MODEL_FIELDS.get(field) !== wire) return `byte ${start}: field ${field} with wire type ${wire} is not part of an ONNX ModelProto`;
    const value = varint();
    if (value === undefined) return complete ? `byte ${start}: a truncated field` : irVersion ? undefined : "no ir_version";
    if (field === 1) irVersion = true;
    if (wire === 2) {
      if (at + value > prefix.length) return complete ? `byte ${start}: field ${field} runs past the end` : irVersion ? undefined : "no ir_version before the first large field";
      at += value;
    }
  }
  return irVersion ? undefined : "no ir_version";
}
