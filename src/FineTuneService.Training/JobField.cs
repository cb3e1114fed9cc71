namespace FineTuneService.Training;

/// <summary>What part of a training job request a problem concerns, in the core's own terms: a hyperparameter by its
/// Hugging Face name, a column by its role, a model-shape or tokenizer setting by its config.json name, or a whole part
/// (the training data, the base model, …). The Platform names each in its wire format, where the training data is a
/// dataset id and the base model a model id.</summary>
public readonly record struct JobField(JobPart Part, string? Name = null) : IComparable<JobField>
{
    public static readonly JobField Type = new(JobPart.Type);
    public static readonly JobField Task = new(JobPart.Task);
    public static readonly JobField Device = new(JobPart.Device);
    public static readonly JobField Train = new(JobPart.Train);
    public static readonly JobField Validation = new(JobPart.Validation);
    public static readonly JobField ValidationSplit = new(JobPart.ValidationSplit);
    public static readonly JobField BaseModel = new(JobPart.BaseModel);
    public static readonly JobField ModelShape = new(JobPart.ModelShape);
    public static readonly JobField Tokenizer = new(JobPart.Tokenizer);

    public static JobField Hyperparameter(string name) => new(JobPart.Hyperparameters, name);

    public static JobField Column(string role) => new(JobPart.Columns, role);

    public static JobField Shape(string name) => new(JobPart.ModelShape, name);

    public static JobField TokenizerSetting(string name) => new(JobPart.Tokenizer, name);

    public override string ToString() => Name is null ? Part.ToString() : $"{Part}.{Name}";

    public int CompareTo(JobField other) => string.CompareOrdinal(ToString(), other.ToString());
}
