using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace FineTuneService.Platform.Persistence.Migrations
{
    /// <inheritdoc />
    public partial class HubImport : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "hub_commit",
                table: "models",
                type: "character varying(40)",
                maxLength: 40,
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "hub_id",
                table: "models",
                type: "character varying(200)",
                maxLength: 200,
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "hub_revision",
                table: "models",
                type: "character varying(256)",
                maxLength: 256,
                nullable: true);

            migrationBuilder.AddColumn<long>(
                name: "import_bytes_done",
                table: "models",
                type: "bigint",
                nullable: true);

            migrationBuilder.AddColumn<long>(
                name: "import_bytes_total",
                table: "models",
                type: "bigint",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "import_error",
                table: "models",
                type: "character varying(2000)",
                maxLength: 2000,
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "status",
                table: "models",
                type: "character varying(16)",
                maxLength: 16,
                nullable: false,
                defaultValue: "Ready");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "hub_commit",
                table: "models");

            migrationBuilder.DropColumn(
                name: "hub_id",
                table: "models");

            migrationBuilder.DropColumn(
                name: "hub_revision",
                table: "models");

            migrationBuilder.DropColumn(
                name: "import_bytes_done",
                table: "models");

            migrationBuilder.DropColumn(
                name: "import_bytes_total",
                table: "models");

            migrationBuilder.DropColumn(
                name: "import_error",
                table: "models");

            migrationBuilder.DropColumn(
                name: "status",
                table: "models");
        }
    }
}
