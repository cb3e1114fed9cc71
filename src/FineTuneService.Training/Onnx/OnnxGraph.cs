using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;
using TorchSharp;
using static TorchSharp.torch;
using DataType = Onnx.TensorProto.Types.DataType;

namespace FineTuneService.Training.Onnx;

/// <summary>A small builder over onnx.proto3's generated classes: graph inputs and outputs with symbolic axes,
/// initializers from torch tensors, nodes with generated names. A family's graph (<see cref="BertOnnx"/>,
/// <see cref="Gpt2Onnx"/>) is written with it op by op.</summary>
sealed class OnnxGraph(OnnxPrecision precision)
{
    public const string Microsoft = "com.microsoft";
    /// <summary>LayerNormalization is opset 17; Split's sizes as an input, 13.</summary>
    const long Opset = 17;

    readonly GraphProto graph = new() { Name = "main" };
    readonly Dictionary<string, string> constants = [];
    int next;

    public OnnxPrecision Precision { get; } = precision;

    public string Input(string name, DataType type, params object[] dims)
    {
        graph.Input.Add(ValueInfo(name, type, dims));
        return name;
    }

    public void Output(string value, string name, DataType type, params object[] dims)
    {
        if (value != name)
        {
            Node("Identity", [value], [name]);
        }
        graph.Output.Add(ValueInfo(name, type, dims));
    }

    /// <summary>A float32 initializer holding <paramref name="t"/>'s values (copied to the CPU).</summary>
    public string Weight(string name, Tensor t)
    {
        using var cpu = t.detach().to(ScalarType.Float32).cpu().contiguous();
        var values = cpu.data<float>().ToArray();
        return Initializer(name, DataType.Float, cpu.shape, MemoryMarshal.AsBytes(values.AsSpan()));
    }

    /// <summary>An int64 constant, shared by every node that needs the same values.</summary>
    public string Int64s(params long[] values)
    {
        var key = "i64:" + string.Join(",", values);
        if (!constants.TryGetValue(key, out var name))
        {
            name = Initializer($"const_{constants.Count}", DataType.Int64, [values.Length], MemoryMarshal.AsBytes(values.AsSpan()));
            constants[key] = name;
        }
        return name;
    }

    /// <summary>A scalar float32 constant.</summary>
    public string Float(float value)
    {
        var key = "f32s:" + value.ToString("R");
        if (!constants.TryGetValue(key, out var name))
        {
            name = Initializer($"const_{constants.Count}", DataType.Float, [], MemoryMarshal.AsBytes(new[] { value }.AsSpan()));
            constants[key] = name;
        }
        return name;
    }

    /// <summary>A scalar int64 constant (e.g. a Gather index that drops its axis).</summary>
    public string Int64Scalar(long value)
    {
        var key = "i64s:" + value;
        if (!constants.TryGetValue(key, out var name))
        {
            name = Initializer($"const_{constants.Count}", DataType.Int64, [], MemoryMarshal.AsBytes(new[] { value }.AsSpan()));
            constants[key] = name;
        }
        return name;
    }

    string Initializer(string name, DataType type, ReadOnlySpan<long> dims, ReadOnlySpan<byte> raw)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)type, RawData = ByteString.CopyFrom(raw) };
        tensor.Dims.AddRange(dims.ToArray());
        graph.Initializer.Add(tensor);
        return name;
    }

    /// <summary>One node; returns its outputs' names (generated unless given).</summary>
    public string[] Node(string op, string[] inputs, string[]? outputs = null, int outputCount = 1, string domain = "",
        params (string Name, object Value)[] attributes)
    {
        var node = new NodeProto { OpType = op, Domain = domain, Name = $"{op}_{next++}" };
        node.Input.AddRange(inputs);
        outputs ??= Enumerable.Range(0, outputCount).Select(i => $"{node.Name}_out{i}").ToArray();
        node.Output.AddRange(outputs);
        foreach (var (name, value) in attributes)
        {
            node.Attribute.Add(Attribute(name, value));
        }
        graph.Node.Add(node);
        return outputs;
    }

    public string Op(string op, params string[] inputs) => Node(op, inputs)[0];

    public string Op(string op, string[] inputs, params (string Name, object Value)[] attributes) =>
        Node(op, inputs, attributes: attributes)[0];

    public string MsOp(string op, string[] inputs, params (string Name, object Value)[] attributes) =>
        Node(op, inputs, domain: Microsoft, attributes: attributes)[0];

    /// <summary>x · W without the bias (the fused op after it adds that): <c>MatMul</c> in fp32,
    /// <c>DynamicQuantizeMatMul</c> with per-column int8 weights otherwise. <paramref name="weight"/> is (in, out).</summary>
    public string MatMul(string x, string name, Tensor weight)
    {
        if (Precision == OnnxPrecision.Fp32)
        {
            return Op("MatMul", x, Weight(name, weight));
        }
        var (quantized, scales) = QuantizePerColumn(weight);
        var q = Initializer(name + "_int8", DataType.Int8, quantized.shape, MemoryMarshal.AsBytes(quantized.data<sbyte>().ToArray().AsSpan()));
        var s = Initializer(name + "_scale", DataType.Float, scales.shape, MemoryMarshal.AsBytes(scales.data<float>().ToArray().AsSpan()));
        var zeros = new sbyte[scales.shape[0]];
        var z = Initializer(name + "_zero_point", DataType.Int8, scales.shape, MemoryMarshal.AsBytes(zeros.AsSpan()));
        quantized.Dispose();
        scales.Dispose();
        return MsOp("DynamicQuantizeMatMul", [x, q, s, z]);
    }

    /// <summary>x · W + b (W is (in, out)).</summary>
    public string Linear(string x, string name, Tensor weight, Tensor bias) =>
        Op("Add", MatMul(x, name + "_weight", weight), Weight(name + "_bias", bias));

    public string LayerNorm(string x, string name, Tensor weight, Tensor bias, double eps) =>
        Op("LayerNormalization", [x, Weight(name + "_weight", weight), Weight(name + "_bias", bias)], ("axis", -1L), ("epsilon", eps));

    /// <summary>act(x + bias): erf GELU as <c>BiasGelu</c>, tanh GELU as <c>FastGelu</c>, others as standard ops.</summary>
    public string BiasActivation(string x, string bias, string activation) => activation switch
    {
        "gelu" => MsOp("BiasGelu", [x, bias]),
        "gelu_new" or "gelu_pytorch_tanh" => MsOp("FastGelu", [x, bias]),
        "relu" => Op("Relu", Op("Add", x, bias)),
        "silu" or "swish" => Silu(Op("Add", x, bias)),
        _ => throw new NotSupportedException($"activation '{activation}' has no ONNX graph"),
    };

    /// <summary>act(x), as <see cref="BiasActivation"/> without a bias.</summary>
    public string Activation(string x, string activation) => activation switch
    {
        "gelu" => MsOp("Gelu", [x]),
        "gelu_new" or "gelu_pytorch_tanh" => MsOp("FastGelu", [x]),
        "relu" => Op("Relu", x),
        "silu" or "swish" => Silu(x),
        _ => throw new NotSupportedException($"activation '{activation}' has no ONNX graph"),
    };

    string Silu(string x) => Op("Mul", x, Op("Sigmoid", x));

    /// <summary>(B, S, H) · embeddingsᵀ (+ bias) → (B, S, V), through a 2-D Gemm so that the (V, H) embedding initializer
    /// is shared with the input Gather rather than stored again transposed; <paramref name="ids"/> (B, S) gives the shape.</summary>
    public string TiedHead(string x, string ids, string embeddings, Tensor? bias, long hidden, long vocab)
    {
        var flat = Op("Reshape", x, Int64s(-1, hidden));
        string[] inputs = bias is null ? [flat, embeddings] : [flat, embeddings, Weight("lm_bias", bias)];
        var logits = Op("Gemm", inputs, ("transB", 1L));
        var shape = Op("Concat", [Op("Shape", ids), Int64s(vocab)], ("axis", 0L));
        return Op("Reshape", logits, shape);
    }

    /// <summary>Each row's values (B, S, C) at its last position whose attention_mask (B, S) is 1 → (B, C): a decoder
    /// classifier's, right- or left-padded.</summary>
    public string LastRealToken(string values, string mask)
    {
        var sequence = Op("Squeeze", Op("Shape", [mask], ("start", 1L), ("end", 2L)), Int64s(0));
        var place = Op("Range", Int64Scalar(0), sequence, Int64Scalar(1)); // (S)
        var last = Op("ArgMax", [Op("Mul", place, mask)], ("axis", 1L), ("keepdims", 1L)); // (B, 1)
        var pick = Op("Unsqueeze", Op("Cast", [Op("Equal", Op("Unsqueeze", place, Int64s(0)), last)], ("to", (long)DataType.Float)), Int64s(-1));
        return Op("ReduceSum", [Op("Mul", values, pick), Int64s(1)], ("keepdims", 0L));
    }

    /// <summary>An initializer name from a Hugging Face module name: <c>bert.encoder.layer.0.</c> + qkv → bert_encoder_layer_0_qkv.</summary>
    public static string Name(string module, string what) =>
        (what.Length == 0 ? module.TrimEnd('.') : module.TrimEnd('.') + "." + what).Replace('.', '_');

    /// <summary>Symmetric int8 per output column: scale = max |w| / 127, q = round(w / scale).</summary>
    internal static (Tensor Quantized, Tensor Scales) QuantizePerColumn(Tensor weight)
    {
        using var scope = NewDisposeScope();
        var w = weight.detach().to(ScalarType.Float32).cpu();
        var scales = w.abs().amax([0]).div(127.0).clamp_min(1e-12f); // (out)
        var q = w.div(scales).round().clamp(-127, 127).to(ScalarType.Int8).contiguous();
        return (q.MoveToOuterDisposeScope(), scales.contiguous().MoveToOuterDisposeScope());
    }

    public ModelProto Model(IReadOnlyDictionary<string, string> metadata)
    {
        var model = new ModelProto
        {
            IrVersion = 8,
            ProducerName = "FineTuneService",
            Graph = graph,
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = Microsoft, Version = 1 });
        foreach (var (key, value) in metadata)
        {
            model.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
        }
        return model;
    }

    static ValueInfoProto ValueInfo(string name, DataType type, object[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var dim in dims)
        {
            shape.Dim.Add(dim switch
            {
                string symbol => new TensorShapeProto.Types.Dimension { DimParam = symbol },
                int size => new TensorShapeProto.Types.Dimension { DimValue = size },
                long size => new TensorShapeProto.Types.Dimension { DimValue = size },
                _ => throw new ArgumentException($"dimension {dim}"),
            });
        }
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } },
        };
    }

    static AttributeProto Attribute(string name, object value) => value switch
    {
        int i => new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = i },
        long l => new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = l },
        float f => new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = f },
        double d => new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = (float)d },
        long[] ints => Ints(name, ints),
        _ => throw new ArgumentException($"attribute {name}: {value.GetType().Name}"),
    };

    static AttributeProto Ints(string name, long[] values)
    {
        var attribute = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        attribute.Ints.AddRange(values);
        return attribute;
    }
}
