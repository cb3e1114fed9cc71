using System.Text;

namespace FineTuneService.Training.Tokenization;

/// <summary>A BPE trainer after the algorithm of Hugging Face's (its output is not compared with theirs; what is checked is
/// that Hugging Face `tokenizers` encodes with the files it writes exactly as we do): special tokens first, then the alphabet sorted by code point,
/// then the most frequent adjacent pair merged, again and again, until the vocabulary is full or no pair reaches
/// <c>minFrequency</c>. Ties go to the pair of smaller ids. WordPiece training is the same with the <c>##</c> prefix
/// on every symbol but a word's first.</summary>
static class MergeTraining
{
    public sealed record Result(List<string> Vocab, List<(string Left, string Right)> Merges);

    public static Result Train(IReadOnlyDictionary<string, long> wordCounts, int vocabSize, int minFrequency,
        IEnumerable<string> specialTokens, IEnumerable<string> initialAlphabet, string continuingPrefix, int? limitAlphabet)
    {
        var vocab = new List<string>();
        var ids = new Dictionary<string, int>();
        int Add(string token)
        {
            if (!ids.TryGetValue(token, out int id))
            {
                id = vocab.Count;
                ids[token] = id;
                vocab.Add(token);
            }
            return id;
        }
        foreach (var token in specialTokens)
            Add(token);

        // The alphabet: every char of the corpus (the rarest dropped beyond limitAlphabet) plus the initial one.
        var charCounts = new Dictionary<string, long>();
        foreach (var (word, count) in wordCounts)
        {
            foreach (var rune in word.EnumerateRunes())
                charCounts[rune.ToString()] = charCounts.GetValueOrDefault(rune.ToString()) + count;
        }
        var alphabet = charCounts.OrderByDescending(e => e.Value).ThenBy(e => e.Key, StringComparer.Ordinal)
            .Take(limitAlphabet ?? int.MaxValue).Select(e => e.Key)
            .Union(initialAlphabet)
            .OrderBy(c => Rune.GetRuneAt(c, 0).Value);
        foreach (var c in alphabet)
            Add(c);

        // Words as symbol ids, in a fixed order so that the ids of the prefixed chars are deterministic.
        var words = new List<List<int>>();
        var counts = new List<long>();
        foreach (var (word, count) in wordCounts.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            var symbols = new List<int>();
            bool first = true;
            foreach (var rune in word.EnumerateRunes())
            {
                string c = rune.ToString();
                if (!ids.ContainsKey(c))
                    continue;
                symbols.Add(Add(first ? c : continuingPrefix + c));
                first = false;
            }
            words.Add(symbols);
            counts.Add(count);
        }

        var pairCounts = new Dictionary<(int, int), long>();
        var where = new Dictionary<(int, int), HashSet<int>>();
        for (int w = 0; w < words.Count; w++)
        {
            var symbols = words[w];
            for (int i = 0; i + 1 < symbols.Count; i++)
            {
                var pair = (symbols[i], symbols[i + 1]);
                pairCounts[pair] = pairCounts.GetValueOrDefault(pair) + counts[w];
                (where.TryGetValue(pair, out var set) ? set : where[pair] = []).Add(w);
            }
        }

        // Max count first; among equal counts the smaller pair. Stale entries are skipped when popped.
        var queue = new PriorityQueue<(int, int), (long Count, int Left, int Right)>(
            Comparer<(long Count, int Left, int Right)>.Create((a, b) =>
                a.Count != b.Count ? b.Count.CompareTo(a.Count) : a.Left != b.Left ? a.Left.CompareTo(b.Left) : a.Right.CompareTo(b.Right)));
        foreach (var (pair, count) in pairCounts)
        {
            if (count > 0)
                queue.Enqueue(pair, (count, pair.Item1, pair.Item2));
        }

        var merges = new List<(string, string)>();
        while (vocab.Count < vocabSize && queue.TryDequeue(out var top, out var priority))
        {
            long current = pairCounts.GetValueOrDefault(top);
            if (current != priority.Count)
            {
                if (current > 0)
                    queue.Enqueue(top, (current, top.Item1, top.Item2));
                continue;
            }
            if (current < Math.Max(1, minFrequency))
                break;
            string left = vocab[top.Item1], right = vocab[top.Item2];
            string rightPart = continuingPrefix.Length > 0 && right.StartsWith(continuingPrefix, StringComparison.Ordinal)
                ? right[continuingPrefix.Length..]
                : right;
            int merged = Add(left + rightPart);
            merges.Add((left, right));

            var changed = new HashSet<(int, int)>();
            foreach (int w in where[top])
            {
                var symbols = words[w];
                long count = counts[w];
                void Change((int, int) pair, long delta)
                {
                    pairCounts[pair] = pairCounts.GetValueOrDefault(pair) + delta;
                    if (delta > 0)
                        (where.TryGetValue(pair, out var set) ? set : where[pair] = []).Add(w);
                    changed.Add(pair);
                }
                for (int i = 0; i + 1 < symbols.Count; i++)
                {
                    if (symbols[i] != top.Item1 || symbols[i + 1] != top.Item2)
                        continue;
                    if (i > 0)
                    {
                        Change((symbols[i - 1], symbols[i]), -count);
                        Change((symbols[i - 1], merged), count);
                    }
                    if (i + 2 < symbols.Count)
                    {
                        Change((symbols[i + 1], symbols[i + 2]), -count);
                        Change((merged, symbols[i + 2]), count);
                    }
                    symbols[i] = merged;
                    symbols.RemoveAt(i + 1);
                }
            }
            where.Remove(top);
            pairCounts.Remove(top);
            foreach (var pair in changed)
            {
                if (!pair.Equals(top) && pairCounts.GetValueOrDefault(pair) is > 0 and var count)
                    queue.Enqueue(pair, (count, pair.Item1, pair.Item2));
            }
        }
        return new Result(vocab, merges);
    }
}
