using static TorchSharp.torch;

namespace FineTuneService.Training.Trainer;

/// <summary>Every read of a device value by the training loop goes through here: a read waits for the device to finish
/// what it was given (on a GPU, a stall of the launch queue), so the loop reads only to log, evaluate or checkpoint.
/// The count (per thread: one run trains on one thread) lets a test prove that no step reads.</summary>
public static class DeviceRead
{
    [ThreadStatic] static long count;

    /// <summary>Reads made on this thread so far.</summary>
    public static long Count => count;

    public static T Value<T>(Tensor scalar) where T : unmanaged
    {
        count++;
        return scalar.item<T>();
    }
}
