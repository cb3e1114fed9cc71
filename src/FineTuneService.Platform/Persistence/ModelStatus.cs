namespace FineTuneService.Platform.Persistence;

/// <summary>An import from the Hub is <see cref="Importing"/> while its files download, then <see cref="Ready"/> or
/// <see cref="Failed"/>; every other model is ready from the start.</summary>
public enum ModelStatus { Ready, Importing, Failed }
