namespace FineTuneService.Platform.Identity;

public enum Exposure { Public, Admin }
