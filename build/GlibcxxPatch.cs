using System;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

// TorchSharp 0.107's libLibTorchSharp.so requires GLIBCXX_3.4.32 (GCC 13) for one symbol,
// std::ios_base_library_init, that is never called. Where the system libstdc++ lacks that
// version (Debian 12), clear the symbol's version and point the leftover requirement at
// GLIBCXX_3.4.30, which the library also needs. Where libstdc++ has it, touch nothing.
public class GlibcxxPatch : Task
{
    [Required] public ITaskItem[] Libraries { get; set; } = Array.Empty<ITaskItem>();

    const string Wanted = "GLIBCXX_3.4.32", Fallback = "GLIBCXX_3.4.30";

    public override bool Execute()
    {
        if (!RuntimeInformation.IsOSPlatform(OSPlatform.Linux) || SystemHas(Wanted)) return true;
        foreach (var path in Libraries.Select(l => l.ItemSpec).Where(File.Exists))
        {
            var bytes = File.ReadAllBytes(path);
            if (Patch(bytes))
            {
                File.Delete(path); // the output may be a hard link into the NuGet cache: write a file of our own
                File.WriteAllBytes(path, bytes);
                Log.LogMessage(MessageImportance.High, $"GlibcxxPatch: {Wanted} -> {Fallback} in {path}");
            }
        }
        return !Log.HasLoggedErrors;
    }

    static bool SystemHas(string version)
    {
        string[] dirs = { "/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib", "/lib64", "/lib/x86_64-linux-gnu" };
        var marker = Encoding.ASCII.GetBytes(version + "\0");
        return dirs.Select(d => Path.Combine(d, "libstdc++.so.6")).Where(File.Exists)
            .Any(f => IndexOf(File.ReadAllBytes(f), marker, 0) >= 0);
    }

    static bool Patch(byte[] elf)
    {
        if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[4] != 2 || elf[5] != 1) return false; // ELF64 LE only
        long shoff = BitConverter.ToInt64(elf, 0x28);
        int shentsize = BitConverter.ToUInt16(elf, 0x3A), shnum = BitConverter.ToUInt16(elf, 0x3C);
        long versym = -1, versymSize = 0, verneed = -1, verneedCount = 0, dynstr = -1;
        for (int i = 0; i < shnum; i++)
        {
            long h = shoff + (long)i * shentsize;
            uint type = BitConverter.ToUInt32(elf, (int)h + 4);
            long offset = BitConverter.ToInt64(elf, (int)h + 24), size = BitConverter.ToInt64(elf, (int)h + 32);
            if (type == 0x6fffffff) { versym = offset; versymSize = size; }
            if (type == 0x6ffffffe)
            {
                verneed = offset;
                verneedCount = BitConverter.ToUInt32(elf, (int)h + 44);
                int link = (int)BitConverter.ToUInt32(elf, (int)h + 40);
                dynstr = BitConverter.ToInt64(elf, (int)(shoff + (long)link * shentsize) + 24);
            }
        }
        if (versym < 0 || verneed < 0) return false;

        long wantedAux = -1, fallbackAux = -1;
        long need = verneed;
        for (int n = 0; n < verneedCount; n++)
        {
            long aux = need + BitConverter.ToUInt32(elf, (int)need + 8);
            for (int a = 0; a < BitConverter.ToUInt16(elf, (int)need + 2); a++)
            {
                string name = CString(elf, dynstr + BitConverter.ToUInt32(elf, (int)aux + 8));
                if (name == Wanted) wantedAux = aux;
                if (name == Fallback) fallbackAux = aux;
                aux += BitConverter.ToUInt32(elf, (int)aux + 12);
            }
            need += BitConverter.ToUInt32(elf, (int)need + 12);
        }
        if (wantedAux < 0 || fallbackAux < 0) return false; // already patched, or nothing to do

        ushort wantedIndex = BitConverter.ToUInt16(elf, (int)wantedAux + 6);
        for (long p = versym; p < versym + versymSize; p += 2)
            if ((BitConverter.ToUInt16(elf, (int)p) & 0x7fff) == wantedIndex)
                BitConverter.GetBytes((ushort)1).CopyTo(elf, (int)p); // VER_NDX_GLOBAL: unversioned
        Array.Copy(elf, fallbackAux, elf, wantedAux, 4);         // vna_hash
        Array.Copy(elf, fallbackAux + 8, elf, wantedAux + 8, 4); // vna_name
        return true;
    }

    static string CString(byte[] b, long start)
    {
        long end = start;
        while (b[end] != 0) end++;
        return Encoding.ASCII.GetString(b, (int)start, (int)(end - start));
    }

    static int IndexOf(byte[] haystack, byte[] needle, int from)
    {
        for (int i = Array.IndexOf(haystack, needle[0], from); i >= 0 && i <= haystack.Length - needle.Length; i = Array.IndexOf(haystack, needle[0], i + 1))
        {
            int k = 1;
            while (k < needle.Length && haystack[i + k] == needle[k]) k++;
            if (k == needle.Length) return i;
        }
        return -1;
    }
}
