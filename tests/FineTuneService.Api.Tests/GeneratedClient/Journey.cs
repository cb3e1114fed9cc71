// Compiled by GeneratedClientTests together with the client Kiota generates from /swagger/v1/swagger.json: the user's
// journey through that client alone (no hand-written HTTP). It returns what the test asserts on.
using FineTune.Client;
using FineTune.Client.Models;
using Microsoft.Kiota.Abstractions;
using Microsoft.Kiota.Abstractions.Authentication;
using Microsoft.Kiota.Http.HttpClientLibrary;

namespace FineTune.Journey;

public static class Journey
{
    public static async Task<IReadOnlyDictionary<string, string>> RunAsync(HttpClient http, byte[] trainCsv, byte[] validationCsv, byte[] modelZip)
    {
        var adapter = new HttpClientRequestAdapter(new AnonymousAuthenticationProvider(), httpClient: http)
        {
            BaseUrl = http.BaseAddress!.ToString().TrimEnd('/'),
        };
        var client = new FineTuneClient(adapter);
        var seen = new Dictionary<string, string>();

        var train = await client.Datasets.PostAsync(Upload("file", "train.csv", "text/csv", trainCsv));
        var validation = await client.Datasets.PostAsync(Upload("file", "validation.csv", "text/csv", validationCsv));
        seen["train_rows"] = train!.NumRows.ToString()!;
        seen["columns"] = string.Join(",", train.Columns!);
        var baseModel = await client.Models.Import.PostAsync(Upload("files", "tiny-bert.zip", "application/zip", modelZip));
        seen["base_architecture"] = baseModel!.Architecture!;

        try
        {
            await client.Jobs.PostAsync(new JobSpec
            {
                Type = JobSpec_type.Finetune, Task = JobSpec_task.Sequence_classification, TrainDatasetId = train.Id,
                BaseModelId = baseModel.Id, Hyperparameters = new Hyperparameters { LearningRate = 5 },
            });
        }
        catch (HttpValidationProblemDetails problem)
        {
            seen["bad_spec_code"] = problem.Code.ToString()!;
            seen["bad_spec_field"] = string.Join(",", problem.Errors!.AdditionalData.Keys);
        }

        var job = await client.Jobs.PostAsync(new JobSpec
        {
            Type = JobSpec_type.Finetune,
            Task = JobSpec_task.Sequence_classification,
            BaseModelId = baseModel.Id,
            TrainDatasetId = train.Id,
            ValidationDatasetId = validation!.Id,
            Columns = new ColumnSpec { Text = "text", Label = "label" },
            Hyperparameters = new Hyperparameters
            {
                NumTrainEpochs = 2, LearningRate = 1e-3, PerDeviceTrainBatchSize = 8, MaxSeqLength = 16, LoggingSteps = 2,
                EvalStrategy = Hyperparameters_eval_strategy.Epoch, SaveStrategy = Hyperparameters_save_strategy.Epoch, Seed = 7,
            },
        });
        seen["queued_status"] = job!.Status.ToString()!;

        // Polled while it trains, as a client would; the full list once it has finished.
        var since = 0;
        var deadline = DateTime.UtcNow.AddMinutes(4);
        while (job!.Status is JobStatus.Queued or JobStatus.Running && DateTime.UtcNow < deadline)
        {
            await Task.Delay(250);
            var page = await client.Jobs[job.Id!.Value].Metrics.GetAsync(c => c.QueryParameters.SinceStep = since);
            if (page!.Items!.Count > 0) since = page.Items.Max(p => p.Step!.Value);
            job = await client.Jobs[job.Id!.Value].GetAsync();
        }
        var points = (await client.Jobs[job.Id!.Value].Metrics.GetAsync())!.Items!;
        seen["status"] = job.Status.ToString()!;
        seen["loss_steps"] = string.Join(",", points.Where(p => p.Name == "loss").Select(p => p.Step));
        seen["eval_accuracy_points"] = points.Count(p => p.Name == "eval_accuracy").ToString();

        var predicted = await client.Models[job.ResultModelId!.Value].Predict.PostAsync(new PredictBody
        {
            Inputs = new PredictBody.PredictBody_inputs { String = ["the film was really superb", "the plot was really awful"] },
        });
        seen["kind"] = predicted!.Kind.ToString()!;
        seen["labels"] = string.Join(",", predicted.Predictions!.Select(p => p.Label));
        seen["scores"] = string.Join(",", predicted.Predictions!.Select(p => p.Scores!.AdditionalData.Count));
        return seen;
    }

    static MultipartBody Upload(string field, string fileName, string contentType, byte[] content)
    {
        var body = new MultipartBody();
        body.AddOrReplacePart(field, contentType, new MemoryStream(content), fileName);
        return body;
    }
}
