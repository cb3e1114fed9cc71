using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace FineTuneService.Platform.Persistence.Migrations
{
    /// <inheritdoc />
    public partial class Issue13Quantization : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "precision",
                table: "models",
                type: "character varying(8)",
                maxLength: 8,
                nullable: false,
                defaultValue: "fp32");

            migrationBuilder.AddColumn<string>(
                name: "quantization_report",
                table: "models",
                type: "text",
                nullable: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "precision",
                table: "models");

            migrationBuilder.DropColumn(
                name: "quantization_report",
                table: "models");
        }
    }
}
