using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace FineTuneService.Platform.Persistence.Migrations
{
    /// <inheritdoc />
    public partial class CorpusStats : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<long>(
                name: "num_bytes",
                table: "datasets",
                type: "bigint",
                nullable: true);

            migrationBuilder.AddColumn<long>(
                name: "num_documents",
                table: "datasets",
                type: "bigint",
                nullable: true);

            migrationBuilder.AddColumn<long>(
                name: "num_lines",
                table: "datasets",
                type: "bigint",
                nullable: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "num_bytes",
                table: "datasets");

            migrationBuilder.DropColumn(
                name: "num_documents",
                table: "datasets");

            migrationBuilder.DropColumn(
                name: "num_lines",
                table: "datasets");
        }
    }
}
