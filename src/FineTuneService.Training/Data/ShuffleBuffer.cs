namespace FineTuneService.Training.Data;

public static class ShuffleBuffer
{
    /// <summary>Shuffles a stream within consecutive buffers of <paramref name="bufferSize"/> items: a streamed,
    /// deterministic (given <paramref name="rng"/>) stand-in for a full shuffle.</summary>
    public static IEnumerable<T> ShuffleInBuffers<T>(this IEnumerable<T> source, int bufferSize, Random rng)
    {
        foreach (var buffer in source.Chunk(bufferSize))
        {
            rng.Shuffle(buffer);
            foreach (var item in buffer)
                yield return item;
        }
    }
}
