using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace FineTuneService.Platform.Persistence.Migrations
{
    /// <inheritdoc />
    public partial class Tenancy : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            // Rows from before tenancy belong to the default tenant (Tenant.DefaultId), the bootstrap admin key's.
            migrationBuilder.DropPrimaryKey(
                name: "pk_idempotency_keys",
                table: "idempotency_keys");

            migrationBuilder.AddColumn<bool>(
                name: "shared",
                table: "models",
                type: "boolean",
                nullable: false,
                defaultValue: false);

            migrationBuilder.AddColumn<Guid>(
                name: "tenant_id",
                table: "models",
                type: "uuid",
                nullable: false,
                defaultValue: new Guid("00000000-0000-0000-0000-000000000001"));

            migrationBuilder.AddColumn<Guid>(
                name: "tenant_id",
                table: "jobs",
                type: "uuid",
                nullable: false,
                defaultValue: new Guid("00000000-0000-0000-0000-000000000001"));

            migrationBuilder.AddColumn<Guid>(
                name: "tenant_id",
                table: "idempotency_keys",
                type: "uuid",
                nullable: false,
                defaultValue: new Guid("00000000-0000-0000-0000-000000000001"));

            migrationBuilder.AddColumn<Guid>(
                name: "tenant_id",
                table: "datasets",
                type: "uuid",
                nullable: false,
                defaultValue: new Guid("00000000-0000-0000-0000-000000000001"));

            migrationBuilder.AddColumn<long>(
                name: "size_bytes",
                table: "checkpoints",
                type: "bigint",
                nullable: false,
                defaultValue: 0L);

            migrationBuilder.AddPrimaryKey(
                name: "pk_idempotency_keys",
                table: "idempotency_keys",
                columns: new[] { "tenant_id", "key" });

            migrationBuilder.CreateTable(
                name: "tenants",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "uuid", nullable: false),
                    name = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false),
                    max_storage_bytes = table.Column<long>(type: "bigint", nullable: true),
                    max_running_jobs = table.Column<int>(type: "integer", nullable: true),
                    max_queued_jobs = table.Column<int>(type: "integer", nullable: true),
                    created_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_tenants", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "api_keys",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "uuid", nullable: false),
                    tenant_id = table.Column<Guid>(type: "uuid", nullable: false),
                    name = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false),
                    role = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    prefix = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    hash = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    created_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: false),
                    last_used_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: true),
                    expires_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: true),
                    revoked_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_api_keys", x => x.id);
                    table.ForeignKey(
                        name: "fk_api_keys_tenants_tenant_id",
                        column: x => x.tenant_id,
                        principalTable: "tenants",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Restrict);
                });

            migrationBuilder.InsertData(
                table: "tenants",
                columns: new[] { "id", "created_at", "max_queued_jobs", "max_running_jobs", "max_storage_bytes", "name" },
                values: new object[] { new Guid("00000000-0000-0000-0000-000000000001"), new DateTime(2026, 12, 1, 0, 0, 0, 0, DateTimeKind.Utc), null, null, null, "default" });

            migrationBuilder.CreateIndex(
                name: "ix_models_tenant_id",
                table: "models",
                column: "tenant_id");

            migrationBuilder.CreateIndex(
                name: "ix_jobs_tenant_id_status",
                table: "jobs",
                columns: new[] { "tenant_id", "status" });

            migrationBuilder.CreateIndex(
                name: "ix_datasets_tenant_id",
                table: "datasets",
                column: "tenant_id");

            migrationBuilder.CreateIndex(
                name: "ix_api_keys_hash",
                table: "api_keys",
                column: "hash",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "ix_api_keys_tenant_id",
                table: "api_keys",
                column: "tenant_id");

            migrationBuilder.CreateIndex(
                name: "ix_tenants_name",
                table: "tenants",
                column: "name",
                unique: true);

            migrationBuilder.AddForeignKey(
                name: "fk_datasets_tenants_tenant_id",
                table: "datasets",
                column: "tenant_id",
                principalTable: "tenants",
                principalColumn: "id",
                onDelete: ReferentialAction.Restrict);

            migrationBuilder.AddForeignKey(
                name: "fk_idempotency_keys_tenants_tenant_id",
                table: "idempotency_keys",
                column: "tenant_id",
                principalTable: "tenants",
                principalColumn: "id",
                onDelete: ReferentialAction.Cascade);

            migrationBuilder.AddForeignKey(
                name: "fk_jobs_tenants_tenant_id",
                table: "jobs",
                column: "tenant_id",
                principalTable: "tenants",
                principalColumn: "id",
                onDelete: ReferentialAction.Restrict);

            migrationBuilder.AddForeignKey(
                name: "fk_models_tenants_tenant_id",
                table: "models",
                column: "tenant_id",
                principalTable: "tenants",
                principalColumn: "id",
                onDelete: ReferentialAction.Restrict);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropForeignKey(
                name: "fk_datasets_tenants_tenant_id",
                table: "datasets");

            migrationBuilder.DropForeignKey(
                name: "fk_idempotency_keys_tenants_tenant_id",
                table: "idempotency_keys");

            migrationBuilder.DropForeignKey(
                name: "fk_jobs_tenants_tenant_id",
                table: "jobs");

            migrationBuilder.DropForeignKey(
                name: "fk_models_tenants_tenant_id",
                table: "models");

            migrationBuilder.DropTable(
                name: "api_keys");

            migrationBuilder.DropTable(
                name: "tenants");

            migrationBuilder.DropIndex(
                name: "ix_models_tenant_id",
                table: "models");

            migrationBuilder.DropIndex(
                name: "ix_jobs_tenant_id_status",
                table: "jobs");

            migrationBuilder.DropPrimaryKey(
                name: "pk_idempotency_keys",
                table: "idempotency_keys");

            migrationBuilder.DropIndex(
                name: "ix_datasets_tenant_id",
                table: "datasets");

            migrationBuilder.DropColumn(
                name: "shared",
                table: "models");

            migrationBuilder.DropColumn(
                name: "tenant_id",
                table: "models");

            migrationBuilder.DropColumn(
                name: "tenant_id",
                table: "jobs");

            migrationBuilder.DropColumn(
                name: "tenant_id",
                table: "idempotency_keys");

            migrationBuilder.DropColumn(
                name: "tenant_id",
                table: "datasets");

            migrationBuilder.DropColumn(
                name: "size_bytes",
                table: "checkpoints");

            migrationBuilder.AddPrimaryKey(
                name: "pk_idempotency_keys",
                table: "idempotency_keys",
                column: "key");
        }
    }
}
