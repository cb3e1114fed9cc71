using System.Reflection;
using System.Reflection.Emit;

namespace FineTuneService.Training.Tests;

/// <summary>The core's namespaces form layers without cycles: each uses only those below it. Read from the compiled
/// assembly (signatures, base types and every member a method body touches), so a fully qualified name counts too.</summary>
public class LayeringTests
{
    const string Root = "FineTuneService.Training";

    // Lower ranks first; a namespace may use only namespaces of a lower rank.
    static readonly Dictionary<string, int> Layers = new()
    {
        [""] = 0,
        ["Onnx"] = 1,
        ["Checkpoints"] = 1,
        ["Tokenization"] = 2,
        ["Models"] = 3,
        ["Data"] = 4,
        ["Trainer"] = 5,
        ["Inference"] = 5,
        ["Jobs"] = 6,
    };

    static readonly Dictionary<short, OpCode> OpCodesByValue = typeof(OpCodes).GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)!).ToDictionary(o => o.Value);

    [Fact]
    public void Each_namespace_of_the_core_uses_only_the_layers_below_it()
    {
        var assembly = typeof(TorchDevices).Assembly;
        var namespaces = assembly.GetTypes().Select(LayerOf).Where(n => n is not null).Distinct().ToArray();
        Assert.All(namespaces, n => Assert.True(Layers.ContainsKey(n!), $"namespace '{n}' has no layer in this test"));

        var violations = new SortedSet<string>();
        foreach (var type in assembly.GetTypes())
        {
            if (LayerOf(type) is not { } from) continue;
            foreach (var (used, via) in References(type))
            {
                if (LayerOf(used) is { } to && to != from && Layers[to] >= Layers[from])
                    violations.Add($"{Display(from)} → {Display(to)}: {type.FullName} uses {used.FullName} ({via})");
            }
        }
        Assert.Empty(violations);
    }

    static string Display(string layer) => layer.Length == 0 ? Root : layer;

    /// <summary>The namespace under FineTuneService.Training of a type (of its outermost declaring type for nested and
    /// compiler-generated ones); null for types of other assemblies.</summary>
    static string? LayerOf(Type type)
    {
        while (type.IsNested) type = type.DeclaringType!;
        if (type.IsGenericType && !type.IsGenericTypeDefinition) type = type.GetGenericTypeDefinition();
        if (type.Assembly != typeof(TorchDevices).Assembly || type.Namespace is not { } ns) return null;
        return ns == Root ? "" : ns.StartsWith(Root + ".", StringComparison.Ordinal) ? ns[(Root.Length + 1)..].Split('.')[0] : null;
    }

    static IEnumerable<(Type Used, string Via)> References(Type type)
    {
        const BindingFlags all = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
        foreach (var t in Expand(type.BaseType).Concat(type.GetInterfaces().SelectMany(Expand))) yield return (t, "base type");
        foreach (var field in type.GetFields(all))
            foreach (var t in Expand(field.FieldType)) yield return (t, field.Name);
        foreach (var property in type.GetProperties(all))
            foreach (var t in Expand(property.PropertyType)) yield return (t, property.Name);
        foreach (var method in type.GetMethods(all).Cast<MethodBase>().Concat(type.GetConstructors(all)))
        {
            var signature = method.GetParameters().Select(p => p.ParameterType).Append((method as MethodInfo)?.ReturnType);
            foreach (var t in signature.SelectMany(Expand)) yield return (t, method.Name);
            foreach (var t in BodyReferences(method)) yield return (t, method.Name);
        }
    }

    /// <summary>A type with its element types and generic arguments.</summary>
    static IEnumerable<Type> Expand(Type? type)
    {
        if (type is null) yield break;
        yield return type;
        if (type.HasElementType)
            foreach (var t in Expand(type.GetElementType())) yield return t;
        if (type.IsGenericType)
            foreach (var t in type.GetGenericArguments().SelectMany(Expand)) yield return t;
    }

    /// <summary>The declaring types of the methods, fields and types a method's IL refers to.</summary>
    static IEnumerable<Type> BodyReferences(MethodBase method)
    {
        var il = method.GetMethodBody()?.GetILAsByteArray();
        if (il is null) yield break;
        var module = method.Module;
        var typeArguments = method.DeclaringType?.IsGenericType == true ? method.DeclaringType.GetGenericArguments() : null;
        var methodArguments = method.IsGenericMethod ? method.GetGenericArguments() : null;
        for (var at = 0; at < il.Length;)
        {
            var code = il[at] == 0xFE ? OpCodesByValue[(short)(0xFE00 | il[at + 1])] : OpCodesByValue[il[at]];
            at += code.Size;
            var operand = OperandSize(code.OperandType, il, at);
            if (code.OperandType is OperandType.InlineMethod or OperandType.InlineField or OperandType.InlineType or OperandType.InlineTok)
            {
                Type? used = null;
                try
                {
                    used = module.ResolveMember(BitConverter.ToInt32(il, at), typeArguments, methodArguments) switch
                    {
                        Type t => t,
                        MemberInfo m => m.DeclaringType,
                        _ => null,
                    };
                }
                catch (ArgumentException)
                {
                    // A generic member whose context this method does not supply; its signature is still checked above.
                }
                foreach (var t in Expand(used)) yield return t;
            }
            at += operand;
        }
    }

    static int OperandSize(OperandType type, byte[] il, int at) => type switch
    {
        OperandType.InlineNone => 0,
        OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar => 1,
        OperandType.InlineVar => 2,
        OperandType.InlineI8 or OperandType.InlineR => 8,
        OperandType.InlineSwitch => 4 + 4 * BitConverter.ToInt32(il, at),
        _ => 4,
    };
}
