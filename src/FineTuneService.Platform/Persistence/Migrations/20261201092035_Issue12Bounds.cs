using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace FineTuneService.Platform.Persistence.Migrations
{
    /// <inheritdoc />
    public partial class Issue12Bounds : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AlterColumn<Guid>(
                name: "train_dataset_id",
                table: "jobs",
                type: "uuid",
                nullable: true,
                oldClrType: typeof(Guid),
                oldType: "uuid");

            migrationBuilder.AddColumn<int>(
                name: "deaths",
                table: "jobs",
                type: "integer",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.AddColumn<string>(
                name: "column_values",
                table: "datasets",
                type: "text",
                nullable: true);

            // Rows that name a dataset or model deleted before these keys existed let go of it.
            migrationBuilder.Sql("UPDATE jobs SET train_dataset_id = NULL WHERE train_dataset_id NOT IN (SELECT id FROM datasets);");
            migrationBuilder.Sql("UPDATE jobs SET validation_dataset_id = NULL WHERE validation_dataset_id NOT IN (SELECT id FROM datasets);");
            migrationBuilder.Sql("UPDATE jobs SET base_model_id = NULL WHERE base_model_id NOT IN (SELECT id FROM models);");

            migrationBuilder.CreateIndex(
                name: "ix_jobs_base_model_id",
                table: "jobs",
                column: "base_model_id");

            migrationBuilder.CreateIndex(
                name: "ix_jobs_train_dataset_id",
                table: "jobs",
                column: "train_dataset_id");

            migrationBuilder.CreateIndex(
                name: "ix_jobs_validation_dataset_id",
                table: "jobs",
                column: "validation_dataset_id");

            migrationBuilder.AddForeignKey(
                name: "fk_jobs_datasets_train_dataset_id",
                table: "jobs",
                column: "train_dataset_id",
                principalTable: "datasets",
                principalColumn: "id",
                onDelete: ReferentialAction.Restrict);

            migrationBuilder.AddForeignKey(
                name: "fk_jobs_datasets_validation_dataset_id",
                table: "jobs",
                column: "validation_dataset_id",
                principalTable: "datasets",
                principalColumn: "id",
                onDelete: ReferentialAction.Restrict);

            migrationBuilder.AddForeignKey(
                name: "fk_jobs_models_base_model_id",
                table: "jobs",
                column: "base_model_id",
                principalTable: "models",
                principalColumn: "id",
                onDelete: ReferentialAction.Restrict);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropForeignKey(
                name: "fk_jobs_datasets_train_dataset_id",
                table: "jobs");

            migrationBuilder.DropForeignKey(
                name: "fk_jobs_datasets_validation_dataset_id",
                table: "jobs");

            migrationBuilder.DropForeignKey(
                name: "fk_jobs_models_base_model_id",
                table: "jobs");

            migrationBuilder.DropIndex(
                name: "ix_jobs_base_model_id",
                table: "jobs");

            migrationBuilder.DropIndex(
                name: "ix_jobs_train_dataset_id",
                table: "jobs");

            migrationBuilder.DropIndex(
                name: "ix_jobs_validation_dataset_id",
                table: "jobs");

            migrationBuilder.DropColumn(
                name: "deaths",
                table: "jobs");

            migrationBuilder.DropColumn(
                name: "column_values",
                table: "datasets");

            migrationBuilder.AlterColumn<Guid>(
                name: "train_dataset_id",
                table: "jobs",
                type: "uuid",
                nullable: false,
                defaultValue: new Guid("00000000-0000-0000-0000-000000000000"),
                oldClrType: typeof(Guid),
                oldType: "uuid",
                oldNullable: true);
        }
    }
}
