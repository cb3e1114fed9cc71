using Microsoft.EntityFrameworkCore;

namespace FineTuneService.Platform.Http;

public static class Paging
{
    public const int DefaultPageSize = 100;
    public const int MaxPageSize = 500;

    /// <summary>One page of an ordered query; <c>page</c> from 1, <c>page_size</c> from 1 to <see cref="MaxPageSize"/>.</summary>
    public static async Task<PagedList<T>> ReadAsync<TRow, T>(IQueryable<TRow> ordered, int page, int pageSize, Func<TRow, T> map, CancellationToken cancellationToken)
    {
        if (page < 1) throw new RequestValidationException("page", "at least 1");
        if (pageSize is < 1 or > MaxPageSize) throw new RequestValidationException("page_size", $"between 1 and {MaxPageSize}");
        var total = await ordered.CountAsync(cancellationToken);
        var rows = await ordered.Skip((page - 1) * pageSize).Take(pageSize).ToListAsync(cancellationToken);
        return new PagedList<T>([.. rows.Select(map)], page, pageSize, total);
    }
}
