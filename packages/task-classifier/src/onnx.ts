import onnxProto from 'onnx-proto';
import { featureCount } from './features.js';
import type { LinearHead } from './softmaxRegression.js';
import type { TrainedModel } from './train.js';

const { onnx } = onnxProto;

/** Names in the exported graph, shared by the exporter, the loader and the tests. */
export const ONNX_NAMES = {
  input: 'features',
  typeOutput: 'type_probabilities',
  complexityOutput: 'complexity_probabilities',
} as const;

/** ONNX operator set: MatMul, Add and Softmax (axis -1) as of opset 13. */
const OPSET = 13;
const IR_VERSION = 8;

function floatTensor(
  name: string,
  dims: number[],
  values: Float32Array,
): InstanceType<typeof onnx.TensorProto> {
  // raw_data is little-endian IEEE 754, which is what a Float32Array holds on every platform Node supports.
  return onnx.TensorProto.create({
    name,
    dims,
    dataType: onnx.TensorProto.DataType.FLOAT,
    rawData: new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength)),
  });
}

function valueInfo(name: string, dims: (number | string)[]) {
  return onnx.ValueInfoProto.create({
    name,
    type: onnx.TypeProto.create({
      tensorType: onnx.TypeProto.Tensor.create({
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: onnx.TensorShapeProto.create({
          dim: dims.map((dim) =>
            typeof dim === 'number'
              ? onnx.TensorShapeProto.Dimension.create({ dimValue: dim })
              : onnx.TensorShapeProto.Dimension.create({ dimParam: dim }),
          ),
        }),
      }),
    }),
  });
}

function headNodes(prefix: string, output: string) {
  return [
    onnx.NodeProto.create({
      name: `${prefix}_matmul`,
      opType: 'MatMul',
      input: [ONNX_NAMES.input, `${prefix}_weights`],
      output: [`${prefix}_product`],
    }),
    onnx.NodeProto.create({
      name: `${prefix}_add`,
      opType: 'Add',
      input: [`${prefix}_product`, `${prefix}_bias`],
      output: [`${prefix}_logits`],
    }),
    onnx.NodeProto.create({
      name: `${prefix}_softmax`,
      opType: 'Softmax',
      input: [`${prefix}_logits`],
      output: [output],
      attribute: [
        onnx.AttributeProto.create({ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: -1 }),
      ],
    }),
  ];
}

/**
 * Serialises the model's two heads as one ONNX graph: input `features` (float32 `[batch, F]`, built by
 * `vectorize`), outputs `type_probabilities` `[batch, 7]` and `complexity_probabilities` `[batch, 3]`, each
 * `Softmax(features · W + b)`. Feature extraction stays in TypeScript; the spec lives in metadata.json.
 */
export function exportOnnx(model: TrainedModel): Uint8Array {
  const width = featureCount(model.features);
  const graph = onnx.GraphProto.create({
    name: 'task_classifier',
    node: [
      ...headNodes('type', ONNX_NAMES.typeOutput),
      ...headNodes('complexity', ONNX_NAMES.complexityOutput),
    ],
    initializer: [
      floatTensor('type_weights', [width, model.heads.type.classes], model.heads.type.weights),
      floatTensor('type_bias', [model.heads.type.classes], model.heads.type.bias),
      floatTensor(
        'complexity_weights',
        [width, model.heads.complexity.classes],
        model.heads.complexity.weights,
      ),
      floatTensor('complexity_bias', [model.heads.complexity.classes], model.heads.complexity.bias),
    ],
    input: [valueInfo(ONNX_NAMES.input, ['batch', width])],
    output: [
      valueInfo(ONNX_NAMES.typeOutput, ['batch', model.heads.type.classes]),
      valueInfo(ONNX_NAMES.complexityOutput, ['batch', model.heads.complexity.classes]),
    ],
  });
  const proto = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    opsetImport: [onnx.OperatorSetIdProto.create({ domain: '', version: OPSET })],
    producerName: '@cap/task-classifier',
    modelVersion: 1,
    docString: `task classifier ${model.version}`,
    graph,
    metadataProps: [
      onnx.StringStringEntryProto.create({ key: 'version', value: model.version }),
      onnx.StringStringEntryProto.create({ key: 'type_labels', value: JSON.stringify(model.labels.type) }),
      onnx.StringStringEntryProto.create({
        key: 'complexity_labels',
        value: JSON.stringify(model.labels.complexity),
      }),
    ],
  });
  return onnx.ModelProto.encode(proto).finish();
}

/** Reads the heads back out of an exported graph (the TypeScript model needs no second copy of the weights). */
export function readOnnxHeads(bytes: Uint8Array): {
  type: LinearHead;
  complexity: LinearHead;
  version: string | undefined;
} {
  const proto = onnx.ModelProto.decode(bytes);
  const tensors = new Map((proto.graph?.initializer ?? []).map((tensor) => [tensor.name ?? '', tensor]));
  const floats = (name: string): { values: Float32Array; dims: number[] } => {
    const tensor = tensors.get(name);
    if (!tensor?.rawData) throw new Error(`ONNX model has no initializer ${name}`);
    const raw = tensor.rawData;
    // Copy: the decoded bytes need not be 4-byte aligned inside the file buffer.
    const values = new Float32Array(raw.byteLength / 4);
    new Uint8Array(values.buffer).set(raw);
    return { values, dims: (tensor.dims ?? []).map(Number) };
  };
  const head = (prefix: string): LinearHead => {
    const weights = floats(`${prefix}_weights`);
    return { weights: weights.values, bias: floats(`${prefix}_bias`).values, classes: weights.dims[1] ?? 0 };
  };
  const version = proto.metadataProps?.find((entry) => entry.key === 'version')?.value ?? undefined;
  return { type: head('type'), complexity: head('complexity'), version };
}
