using System.IO.MemoryMappedFiles;

namespace FineTuneService.Training.Data;

/// <summary>Tokenized examples written once to a file and read by index through a memory map, as nanoGPT reads its
/// token file: writing streams the source through once, and reading holds no example that is not asked for, so a
/// job's memory does not grow with its data. A sibling <c>.idx</c> file holds each example's int64 offset; it appears
/// last, so its presence means a complete file, which a resumed job reuses. Each dataset lays out its own records.</summary>
public sealed class ExampleFile : IDisposable
{
    readonly MemoryMappedFile dataFile, indexFile;
    readonly MemoryMappedViewAccessor dataView, indexView;

    ExampleFile(string path)
    {
        dataFile = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        indexFile = MemoryMappedFile.CreateFromFile(path + ".idx", FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        dataView = dataFile.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
        indexView = indexFile.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
        Count = (int)(new FileInfo(path + ".idx").Length / sizeof(long));
    }

    public int Count { get; }

    /// <summary>Opens the file at <paramref name="path"/>, first writing each of <paramref name="examples"/> with
    /// <paramref name="write"/> unless a complete file is already there. No examples is an error saying <paramref name="empty"/>
    /// (a memory map cannot be empty).</summary>
    public static ExampleFile OpenOrCreate<T>(string path, Func<IEnumerable<T>> examples, Action<BinaryWriter, T> write, string empty)
    {
        if (!File.Exists(path + ".idx"))
            Write(path, examples(), write, empty);
        return new ExampleFile(path);
    }

    static void Write<T>(string path, IEnumerable<T> examples, Action<BinaryWriter, T> write, string empty)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        long count = 0;
        using (var data = new BinaryWriter(File.Create(path)))
        using (var index = new BinaryWriter(File.Create(path + ".idx.tmp")))
        {
            foreach (var example in examples)
            {
                index.Write(data.BaseStream.Position);
                write(data, example);
                count++;
            }
        }
        if (count == 0)
        {
            File.Delete(path);
            File.Delete(path + ".idx.tmp");
            throw new InvalidDataException(empty);
        }
        File.Move(path + ".idx.tmp", path + ".idx");
    }

    /// <summary>Where example <paramref name="index"/>'s record starts.</summary>
    public long Offset(int index) => indexView.ReadInt64(index * (long)sizeof(long));

    public int ReadInt32(long position) => dataView.ReadInt32(position);

    public long ReadInt64(long position) => dataView.ReadInt64(position);

    public T[] ReadArray<T>(long position, int count) where T : struct
    {
        var values = new T[count];
        dataView.ReadArray(position, values, 0, count);
        return values;
    }

    public void Dispose()
    {
        dataView.Dispose();
        indexView.Dispose();
        dataFile.Dispose();
        indexFile.Dispose();
    }
}
