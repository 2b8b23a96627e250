// Import of ONNX bytes written the way exporters write them, built field by field with the generated protobuf
// types: typed-field and raw_data initializers, Constant nodes, symbolic dims, a Shape → Gather → Concat chain.
import { create, toBinary, type MessageInitShape } from '@bufbuild/protobuf';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { addGradients } from '../../engine/autodiff/index.ts';
import { decodeModel, encodeModel, inferShapes, tensor, toNumbers } from '../../engine/ir/index.ts';
import {
  AttributeProto_AttributeType as AttrType,
  ModelProtoSchema,
  TensorProto_DataType as DataType,
  TensorProtoSchema,
} from '../../engine/onnx/gen/onnx_pb.ts';
import { loadModel } from '../../engine/onnx/load.ts';
import { createSession, toOrt } from '../../engine/runtime/session.ts';

const weight = [0.5, -1, 2, 0, 1, 1, -1, 0.25, 0, 0, 3, -2]; // fc.weight [3, 4], used with transB
const bias = [0.1, -0.2, 0.3];

function rawFloats(values: number[]): Uint8Array {
  return new Uint8Array(Float32Array.from(values).buffer);
}

function exportedModelBytes(): Uint8Array {
  const dim = (d: number | string) => ({
    value:
      typeof d === 'number' ? { case: 'dimValue' as const, value: BigInt(d) } : { case: 'dimParam' as const, value: d },
  });
  const valueInfo = (name: string, dims: (number | string)[]) => ({
    name,
    type: {
      value: { case: 'tensorType' as const, value: { elemType: DataType.FLOAT, shape: { dim: dims.map(dim) } } },
    },
  });
  const initializers: MessageInitShape<typeof TensorProtoSchema>[] = [
    { name: 'fc.weight', dims: [3n, 4n], dataType: DataType.FLOAT, rawData: rawFloats(weight) },
    { name: 'fc.bias', dims: [3n], dataType: DataType.FLOAT, floatData: bias },
    { name: 'minus_one', dims: [1n], dataType: DataType.INT64, int64Data: [-1n] },
  ];
  const node = (opType: string, input: string[], output: string[], attribute: object[] = [], name = `/${opType}`) => ({
    opType,
    input,
    output,
    name,
    attribute,
  });
  return toBinary(
    ModelProtoSchema,
    create(ModelProtoSchema, {
      irVersion: 8n,
      producerName: 'pytorch',
      producerVersion: '2.5.0',
      opsetImport: [{ domain: '', version: 17n }],
      graph: {
        name: 'main_graph',
        input: [valueInfo('input', ['batch', 2, 2])],
        output: [valueInfo('output', ['batch', 3])],
        initializer: initializers,
        node: [
          node('Shape', ['input'], ['/Shape_output_0']),
          node(
            'Constant',
            [],
            ['/Constant_output_0'],
            [
              {
                name: 'value',
                type: AttrType.TENSOR,
                t: { dims: [], dataType: DataType.INT64, rawData: new Uint8Array(8) },
              },
            ],
          ),
          node(
            'Gather',
            ['/Shape_output_0', '/Constant_output_0'],
            ['/Gather_output_0'],
            [{ name: 'axis', type: AttrType.INT, i: 0n }],
          ),
          node('Constant', [], ['/axes'], [{ name: 'value_ints', type: AttrType.INTS, ints: [0n] }], '/Constant_1'),
          node('Unsqueeze', ['/Gather_output_0', '/axes'], ['/Unsqueeze_output_0']),
          node(
            'Concat',
            ['/Unsqueeze_output_0', 'minus_one'],
            ['/Concat_output_0'],
            [{ name: 'axis', type: AttrType.INT, i: 0n }],
          ),
          node('Reshape', ['input', '/Concat_output_0'], ['/Reshape_output_0']),
          node(
            'Gemm',
            ['/Reshape_output_0', 'fc.weight', 'fc.bias'],
            ['/fc/Gemm_output_0'],
            [
              { name: 'alpha', type: AttrType.FLOAT, f: 1 },
              { name: 'beta', type: AttrType.FLOAT, f: 1 },
              { name: 'transB', type: AttrType.INT, i: 1n },
            ],
            '/fc/Gemm',
          ),
          node('Relu', ['/fc/Gemm_output_0'], ['output']),
        ],
      },
    }),
  );
}

describe('ONNX import as exporters write it', () => {
  it('decodes typed and raw initializers, Constant nodes and symbolic dims', () => {
    const m = decodeModel(exportedModelBytes());
    expect(m.opset).toBe(17);
    expect(m.producer).toBe('pytorch');
    expect(m.graph.inputs).toEqual([{ name: 'input', dtype: 'float32', shape: ['batch', 2, 2] }]);
    expect(toNumbers(m.graph.initializers.get('fc.weight')!)).toEqual(weight);
    expect(toNumbers(m.graph.initializers.get('fc.bias')!)).toEqual(Array.from(Float32Array.from(bias)));
    expect(m.graph.initializers.get('minus_one')).toEqual(tensor('int64', [1], [-1n]));
    expect(m.graph.nodes[1].attrs.value).toEqual({ kind: 'tensor', value: tensor('int64', [], [0n]) });
    expect(m.graph.nodes[7].attrs).toMatchObject({
      transB: { kind: 'int', value: 1 },
      alpha: { kind: 'float', value: 1 },
    });
    expect(inferShapes(m.graph).get('/Reshape_output_0')?.shape).toEqual(['batch', 4]);
  });

  it('runs the imported model in ORT, and differentiates it w.r.t. its initializers', async () => {
    const m = decodeModel(exportedModelBytes());
    const grads = addGradients(m.graph, { loss: 'output', wrt: ['fc.weight', 'fc.bias'] });
    m.graph.outputs.push({ name: grads.get('fc.weight')!, dtype: 'float32', shape: [3, 4] });
    m.graph.outputs.push({ name: grads.get('fc.bias')!, dtype: 'float32', shape: [3] });
    const { session } = await createSession(decodeModel(encodeModel(m)));
    const x = [1, 2, 3, 4, -1, 0, 0, 1];
    const out = await session.run({ input: toOrt(tensor('float32', [2, 2, 2], x)) });
    // output = relu(x W^T + b) per row; d(Σ output)/dW[j] = Σ over rows with positive pre-activation of x_row.
    const expected: number[] = [];
    const dW = new Array(12).fill(0);
    const db = [0, 0, 0];
    for (let r = 0; r < 2; r++) {
      for (let j = 0; j < 3; j++) {
        const pre = bias[j] + [0, 1, 2, 3].reduce((s, k) => s + x[r * 4 + k] * weight[j * 4 + k], 0);
        expected.push(Math.max(pre, 0));
        if (pre > 0) {
          db[j] += 1;
          for (let k = 0; k < 4; k++) dW[j * 4 + k] += x[r * 4 + k];
        }
      }
    }
    Array.from(out.output.data as Float32Array).forEach((v, i) => expect(v).toBeCloseTo(expected[i], 5));
    expect(Array.from(out[grads.get('fc.weight')!].data as Float32Array)).toEqual(dW);
    expect(Array.from(out[grads.get('fc.bias')!].data as Float32Array)).toEqual(db);
    await session.release();
  });

  it('reads each dtype from its typed field (double_data, int32_data for int32/bool/uint8, int64_data)', () => {
    const bytes = toBinary(
      ModelProtoSchema,
      create(ModelProtoSchema, {
        opsetImport: [{ domain: '', version: 17n }],
        graph: {
          initializer: [
            { name: 'f64', dims: [2n], dataType: DataType.DOUBLE, doubleData: [0.1, -2] },
            { name: 'i32', dims: [2n], dataType: DataType.INT32, int32Data: [7, -8] },
            { name: 'flags', dims: [3n], dataType: DataType.BOOL, int32Data: [1, 0, 1] },
            { name: 'bytes', dims: [1n], dataType: DataType.UINT8, int32Data: [255] },
            { name: 'i64', dims: [], dataType: DataType.INT64, int64Data: [-(2n ** 40n)] },
          ],
        },
      }),
    );
    const inits = decodeModel(bytes).graph.initializers;
    expect(inits.get('f64')).toEqual(tensor('float64', [2], [0.1, -2]));
    expect(inits.get('i32')).toEqual(tensor('int32', [2], [7, -8]));
    expect(inits.get('flags')).toEqual(tensor('bool', [3], [1, 0, 1]));
    expect(inits.get('bytes')).toEqual(tensor('uint8', [1], [255]));
    expect(inits.get('i64')).toEqual(tensor('int64', [], [-(2n ** 40n)]));
  });

  it('infers an output shape the model leaves out, and refuses an input without one', () => {
    const tensorType = (dims?: bigint[]) => ({
      value: {
        case: 'tensorType' as const,
        value: {
          elemType: DataType.FLOAT,
          shape: dims && { dim: dims.map((d) => ({ value: { case: 'dimValue' as const, value: d } })) },
        },
      },
    });
    const model = (inputDims?: bigint[]) =>
      toBinary(
        ModelProtoSchema,
        create(ModelProtoSchema, {
          opsetImport: [{ domain: '', version: 17n }],
          graph: {
            input: [{ name: 'x', type: tensorType(inputDims) }],
            output: [{ name: 'y', type: tensorType() }],
            node: [{ opType: 'Transpose', input: ['x'], output: ['y'] }],
          },
        }),
      );
    expect(decodeModel(model([2n, 5n])).graph.outputs).toEqual([{ name: 'y', dtype: 'float32', shape: [5, 2] }]);
    expect(() => decodeModel(model())).toThrow(/graph input 'x' states no shape/);
  });

  it('loadModel reads external data beside the model and refuses locations outside its directory', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ratchet-ir-'));
    try {
      const model = (location: string) =>
        toBinary(
          ModelProtoSchema,
          create(ModelProtoSchema, {
            opsetImport: [{ domain: '', version: 17n }],
            graph: {
              initializer: [
                {
                  name: 'w',
                  dims: [2n],
                  dataType: DataType.FLOAT,
                  dataLocation: 1,
                  externalData: [
                    { key: 'location', value: location },
                    { key: 'offset', value: '4' },
                    { key: 'length', value: '8' },
                  ],
                },
              ],
            },
          }),
        );
      writeFileSync(join(dir, 'weights.bin'), new Uint8Array(Float32Array.from([9, 1.5, -2, 9]).buffer));
      writeFileSync(join(dir, 'ok.onnx'), model('weights.bin'));
      writeFileSync(join(dir, 'escape.onnx'), model('../weights.bin'));
      expect(toNumbers(loadModel(join(dir, 'ok.onnx')).graph.initializers.get('w')!)).toEqual([1.5, -2]);
      expect(() => loadModel(join(dir, 'escape.onnx'))).toThrow(/outside the model's directory/);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it('refuses what it cannot load with errors that say what', () => {
    const external = create(ModelProtoSchema, {
      opsetImport: [{ domain: '', version: 17n }],
      graph: { initializer: [{ name: 'big', dims: [2n], dataType: DataType.FLOAT, dataLocation: 1 }] },
    });
    expect(() => decodeModel(toBinary(ModelProtoSchema, external))).toThrow(
      /initializer 'big' is external but names no location/,
    );
    const wrongSize = create(ModelProtoSchema, {
      opsetImport: [{ domain: '', version: 17n }],
      graph: { initializer: [{ name: 'w', dims: [2n, 2n], dataType: DataType.FLOAT, rawData: new Uint8Array(12) }] },
    });
    expect(() => decodeModel(toBinary(ModelProtoSchema, wrongSize))).toThrow(/'w' has 12 raw bytes/);
    const strings = create(ModelProtoSchema, {
      opsetImport: [{ domain: '', version: 17n }],
      graph: { initializer: [{ name: 's', dims: [1n], dataType: DataType.STRING }] },
    });
    expect(() => decodeModel(toBinary(ModelProtoSchema, strings))).toThrow(/'s' has element type STRING/);
    const noOpset = create(ModelProtoSchema, { graph: {} });
    expect(() => decodeModel(toBinary(ModelProtoSchema, noOpset))).toThrow(/no default \(ai.onnx\) operator set/);
  });
});
