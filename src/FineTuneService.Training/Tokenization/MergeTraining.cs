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
        var vocab = new Vocabulary();
        foreach (var token in specialTokens)
            vocab.Add(token);
        foreach (var c in Alphabet(wordCounts, initialAlphabet, limitAlphabet))
            vocab.Add(c);
        var corpus = new SymbolCorpus(wordCounts, vocab, continuingPrefix);

        var merges = new List<(string, string)>();
        while (vocab.Count < vocabSize && corpus.MostFrequentPair() is { } next && next.Count >= Math.Max(1, minFrequency))
        {
            var top = next.Pair;
            string left = vocab[top.Item1], right = vocab[top.Item2];
            string rightPart = continuingPrefix.Length > 0 && right.StartsWith(continuingPrefix, StringComparison.Ordinal)
                ? right[continuingPrefix.Length..]
                : right;
            corpus.Merge(top, vocab.Add(left + rightPart));
            merges.Add((left, right));
        }
        return new Result(vocab.Tokens, merges);
    }

    /// <summary>Every char of the corpus (the rarest dropped beyond <paramref name="limitAlphabet"/>) plus the initial
    /// alphabet, by code point.</summary>
    static IEnumerable<string> Alphabet(IReadOnlyDictionary<string, long> wordCounts, IEnumerable<string> initialAlphabet, int? limitAlphabet)
    {
        var charCounts = new Dictionary<string, long>();
        foreach (var (word, count) in wordCounts)
        {
            foreach (var rune in word.EnumerateRunes())
                charCounts[rune.ToString()] = charCounts.GetValueOrDefault(rune.ToString()) + count;
        }
        return charCounts.OrderByDescending(e => e.Value).ThenBy(e => e.Key, StringComparer.Ordinal)
            .Take(limitAlphabet ?? int.MaxValue).Select(e => e.Key)
            .Union(initialAlphabet)
            .OrderBy(c => Rune.GetRuneAt(c, 0).Value);
    }

    /// <summary>Tokens by id, and ids by token.</summary>
    sealed class Vocabulary
    {
        readonly Dictionary<string, int> ids = [];

        public List<string> Tokens { get; } = [];

        public int Count => Tokens.Count;

        public string this[int id] => Tokens[id];

        public bool Contains(string token) => ids.ContainsKey(token);

        /// <summary>The token's id, added at the end when new.</summary>
        public int Add(string token)
        {
            if (!ids.TryGetValue(token, out int id))
            {
                id = Tokens.Count;
                ids[token] = id;
                Tokens.Add(token);
            }
            return id;
        }
    }

    /// <summary>The corpus' words as symbol ids with their counts, the count of every adjacent pair, the words each pair
    /// occurs in, and a queue of pairs by count.</summary>
    sealed class SymbolCorpus
    {
        readonly List<List<int>> words = [];
        readonly List<long> counts = [];
        readonly Dictionary<(int, int), long> pairCounts = [];
        readonly Dictionary<(int, int), HashSet<int>> where = [];

        // Max count first; among equal counts the smaller pair. Stale entries are skipped when popped.
        readonly PriorityQueue<(int, int), (long Count, int Left, int Right)> queue = new(
            Comparer<(long Count, int Left, int Right)>.Create((a, b) =>
                a.Count != b.Count ? b.Count.CompareTo(a.Count) : a.Left != b.Left ? a.Left.CompareTo(b.Left) : a.Right.CompareTo(b.Right)));

        /// <summary>Words in a fixed order, so that the ids of the prefixed chars are deterministic; chars outside the
        /// alphabet are dropped.</summary>
        public SymbolCorpus(IReadOnlyDictionary<string, long> wordCounts, Vocabulary vocab, string continuingPrefix)
        {
            foreach (var (word, count) in wordCounts.OrderBy(e => e.Key, StringComparer.Ordinal))
            {
                var symbols = new List<int>();
                bool first = true;
                foreach (var rune in word.EnumerateRunes())
                {
                    string c = rune.ToString();
                    if (!vocab.Contains(c))
                        continue;
                    symbols.Add(vocab.Add(first ? c : continuingPrefix + c));
                    first = false;
                }
                words.Add(symbols);
                counts.Add(count);
            }
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
            foreach (var (pair, count) in pairCounts)
            {
                if (count > 0)
                    queue.Enqueue(pair, (count, pair.Item1, pair.Item2));
            }
        }

        /// <summary>The pair of the highest count (ties: the smaller ids) and its count; null when no pair is left.</summary>
        public ((int, int) Pair, long Count)? MostFrequentPair()
        {
            while (queue.TryDequeue(out var top, out var priority))
            {
                long current = pairCounts.GetValueOrDefault(top);
                if (current == priority.Count)
                    return (top, current);
                if (current > 0)
                    queue.Enqueue(top, (current, top.Item1, top.Item2));
            }
            return null;
        }

        /// <summary>Replaces every occurrence of <paramref name="top"/> by <paramref name="merged"/>, updating the
        /// counts of the neighbouring pairs.</summary>
        public void Merge((int, int) top, int merged)
        {
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
    }
}
