using System.Data.Common;
using FineTuneService.Platform.Http;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace FineTuneService.Platform.Persistence;

/// <summary>Deletes a row that jobs reference, in one transaction with the updates that let finished jobs go of it.</summary>
static class Deletion
{
    /// <summary>Runs <paramref name="delete"/> (which returns the rows it deleted) in a transaction; true when it deleted the
    /// row, false when the row was already gone (a concurrent delete won). A foreign key that still holds the row — a job
    /// that has not finished — is a <see cref="ConflictException"/> with <paramref name="inUse"/>.</summary>
    public static async Task<bool> DeleteAsync(AppDbContext db, Func<Task<int>> delete, string inUse, CancellationToken cancellationToken)
    {
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        int deleted;
        try { deleted = await delete(); }
        catch (DbException e) when (e.SqlState == "23503" || e is SqliteException { SqliteErrorCode: 19 })
        {
            throw new ConflictException(inUse);
        }
        await transaction.CommitAsync(cancellationToken);
        return deleted == 1;
    }
}
