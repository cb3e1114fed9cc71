using System.Numerics;

namespace FineTuneService.Training.Tokenization;

/// <summary>A char trie over vocabulary entries whose transitions live in one open-addressing table, so that the
/// longest entry starting at a position is found in one forward scan: one probe per char, no allocation.</summary>
sealed class VocabTrie
{
    const long Empty = -1;
    long[] keys;
    int[] children;
    int mask;
    int transitions;
    readonly List<int> tokenIds = [-1];

    public VocabTrie(IEnumerable<(string Key, int Id)> entries)
    {
        keys = new long[1024];
        Array.Fill(keys, Empty);
        children = new int[1024];
        mask = keys.Length - 1;
        foreach (var (key, id) in entries)
        {
            int node = 0;
            foreach (char c in key)
            {
                int child = Child(node, c);
                if (child < 0)
                {
                    child = tokenIds.Count;
                    tokenIds.Add(-1);
                    Insert(Key(node, c), child);
                }
                node = child;
            }
            tokenIds[node] = id;
        }
        TokenIds = tokenIds.ToArray();
    }

    /// <summary>Token id per node; -1 where no entry ends.</summary>
    int[] TokenIds { get; }

    /// <summary>The longest entry that <paramref name="text"/> starts with: its length (0 if none) and id.</summary>
    public int LongestPrefix(ReadOnlySpan<char> text, out int id)
    {
        id = -1;
        int best = 0;
        int node = 0;
        var ids = TokenIds;
        for (int i = 0; i < text.Length; i++)
        {
            node = Child(node, text[i]);
            if (node < 0)
                break;
            int tokenId = ids[node];
            if (tokenId >= 0)
            {
                best = i + 1;
                id = tokenId;
            }
        }
        return best;
    }

    /// <summary>The node of the empty prefix, where <see cref="Step"/> starts.</summary>
    public const int Root = 0;

    /// <summary>The node after <paramref name="c"/> from <paramref name="node"/>, or -1: walks every entry that a text starts with.</summary>
    public int Step(int node, char c) => Child(node, c);

    /// <summary>The id of the entry that ends at <paramref name="node"/>, or -1.</summary>
    public int IdAt(int node) => TokenIds[node];

    static long Key(int node, char c) => ((long)node << 16) | c;

    static int Slot(long key, int mask) => (int)((ulong)key * 0x9E3779B97F4A7C15UL >> 32) & mask;

    int Child(int node, char c)
    {
        long key = Key(node, c);
        for (int slot = Slot(key, mask); ; slot = (slot + 1) & mask)
        {
            long k = keys[slot];
            if (k == key)
                return children[slot];
            if (k == Empty)
                return -1;
        }
    }

    void Insert(long key, int child)
    {
        if (++transitions * 2 > keys.Length)
            Grow();
        Place(keys, children, mask, key, child);
    }

    void Grow()
    {
        var oldKeys = keys;
        var oldChildren = children;
        int size = (int)BitOperations.RoundUpToPowerOf2((uint)oldKeys.Length * 2);
        keys = new long[size];
        Array.Fill(keys, Empty);
        children = new int[size];
        mask = size - 1;
        for (int i = 0; i < oldKeys.Length; i++)
        {
            if (oldKeys[i] != Empty)
                Place(keys, children, mask, oldKeys[i], oldChildren[i]);
        }
    }

    static void Place(long[] keys, int[] children, int mask, long key, int child)
    {
        int slot = Slot(key, mask);
        while (keys[slot] != Empty)
            slot = (slot + 1) & mask;
        keys[slot] = key;
        children[slot] = child;
    }
}
