namespace FineTuneService.Training.Tokenization;

/// <summary>The tokens of one sequence while it is encoded: growable arrays, reused between calls.</summary>
sealed class TokenSequence
{
    public int Count { get; private set; }
    public int[] Ids = new int[64];
    public (int Start, int End)[] Offsets = new (int, int)[64];
    public int[] WordIds = new int[64];

    public void Clear() => Count = 0;

    public void Add(int id, int start, int end, int wordId)
    {
        if (Count == Ids.Length)
        {
            Array.Resize(ref Ids, Count * 2);
            Array.Resize(ref Offsets, Count * 2);
            Array.Resize(ref WordIds, Count * 2);
        }
        Ids[Count] = id;
        Offsets[Count] = (start, end);
        WordIds[Count] = wordId;
        Count++;
    }

    /// <summary>Keeps the first <paramref name="length"/> tokens (Hugging Face truncates from the right).</summary>
    public void Truncate(int length) => Count = Math.Min(Count, length);
}
