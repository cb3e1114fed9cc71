namespace FineTuneService.Platform.Http;

/// <summary>Every list on the wire: <c>{"items": [...], "page", "page_size", "total"}</c>. Lists that grow are paged, so
/// no request reads or answers more than <see cref="Paging.MaxPageSize"/> rows.</summary>
public sealed record PagedList<T>(IReadOnlyList<T> Items, int Page, int PageSize, int Total);
