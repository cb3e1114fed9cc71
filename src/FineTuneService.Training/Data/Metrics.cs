namespace FineTuneService.Training.Data;

/// <summary>Evaluation metrics per task, computed like scikit-learn (zero_division = 0) and seqeval.
/// Names come without the <c>eval_</c> prefix; the Trainer adds it.</summary>
public static class Metrics
{
    /// <summary>Single-label classification: accuracy; macro precision, recall, F1 over the labels that occur
    /// in either labels or predictions; multi-class Matthews correlation.</summary>
    public static Dictionary<string, double> Classification(IReadOnlyList<int> predictions, IReadOnlyList<int> labels)
    {
        var n = labels.Count;
        var classes = labels.Concat(predictions).Distinct().ToArray();
        double correct = 0, precision = 0, recall = 0, f1 = 0;
        for (var i = 0; i < n; i++) if (predictions[i] == labels[i]) correct++;
        double sumTp = 0, sumPt = 0, sumP2 = 0, sumT2 = 0;
        foreach (var c in classes)
        {
            double tp = 0, predicted = 0, actual = 0;
            for (var i = 0; i < n; i++)
            {
                if (predictions[i] == c) predicted++;
                if (labels[i] == c) actual++;
                if (predictions[i] == c && labels[i] == c) tp++;
            }
            precision += Ratio(tp, predicted);
            recall += Ratio(tp, actual);
            f1 += Ratio(2 * tp, predicted + actual);
            sumTp += tp; sumPt += predicted * actual; sumP2 += predicted * predicted; sumT2 += actual * actual;
        }
        var k = Math.Max(1, classes.Length);
        var s = (double)n;
        var mccDenominator = Math.Sqrt((s * s - sumP2) * (s * s - sumT2));
        return new()
        {
            ["accuracy"] = Ratio(correct, n),
            ["f1"] = f1 / k,
            ["precision"] = precision / k,
            ["recall"] = recall / k,
            ["mcc"] = mccDenominator == 0 ? 0 : (sumTp * s - sumPt) / mccDenominator,
        };
    }

    /// <summary>Multi-label classification on 0/1 indicator rows: micro and macro F1 (macro over every label column)
    /// and exact match (all labels of a row right).</summary>
    public static Dictionary<string, double> MultiLabel(IReadOnlyList<bool[]> predictions, IReadOnlyList<bool[]> labels)
    {
        var classes = labels.Count == 0 ? 0 : labels[0].Length;
        double tpAll = 0, fpAll = 0, fnAll = 0, macro = 0, exact = 0;
        for (var c = 0; c < classes; c++)
        {
            double tp = 0, fp = 0, fn = 0;
            for (var i = 0; i < labels.Count; i++)
            {
                if (predictions[i][c] && labels[i][c]) tp++;
                else if (predictions[i][c]) fp++;
                else if (labels[i][c]) fn++;
            }
            macro += Ratio(2 * tp, 2 * tp + fp + fn);
            tpAll += tp; fpAll += fp; fnAll += fn;
        }
        for (var i = 0; i < labels.Count; i++) if (predictions[i].SequenceEqual(labels[i])) exact++;
        return new()
        {
            ["f1_micro"] = Ratio(2 * tpAll, 2 * tpAll + fpAll + fnAll),
            ["f1_macro"] = macro / Math.Max(1, classes),
            ["exact_match"] = Ratio(exact, labels.Count),
        };
    }

    /// <summary>Regression: MSE, MAE, Pearson and Spearman correlation (average ranks for ties), R².</summary>
    public static Dictionary<string, double> Regression(IReadOnlyList<double> predictions, IReadOnlyList<double> labels)
    {
        var n = labels.Count;
        double se = 0, ae = 0;
        for (var i = 0; i < n; i++)
        {
            var d = predictions[i] - labels[i];
            se += d * d; ae += Math.Abs(d);
        }
        var mean = labels.Average();
        var total = labels.Sum(y => (y - mean) * (y - mean));
        return new()
        {
            ["mse"] = se / n,
            ["mae"] = ae / n,
            ["pearson"] = Pearson(predictions, labels),
            ["spearman"] = Pearson(Ranks(predictions), Ranks(labels)),
            ["r2"] = total == 0 ? (se == 0 ? 1 : 0) : 1 - se / total,
        };
    }

    /// <summary>Token classification, seqeval-style: entity-level micro precision/recall/F1 over IOB2 chunks
    /// (an I- without a B- starts an entity, as seqeval's default mode does) and token accuracy.</summary>
    public static Dictionary<string, double> Entities(IReadOnlyList<string[]> predictions, IReadOnlyList<string[]> labels)
    {
        var truth = new HashSet<(int, string, int, int)>();
        var guessed = new HashSet<(int, string, int, int)>();
        double tokens = 0, correctTokens = 0;
        for (var s = 0; s < labels.Count; s++)
        {
            foreach (var (type, start, end) in Chunks(labels[s])) truth.Add((s, type, start, end));
            foreach (var (type, start, end) in Chunks(predictions[s])) guessed.Add((s, type, start, end));
            for (var t = 0; t < labels[s].Length; t++, tokens++) if (labels[s][t] == predictions[s][t]) correctTokens++;
        }
        var hits = truth.Intersect(guessed).Count();
        double precision = Ratio(hits, guessed.Count), recall = Ratio(hits, truth.Count);
        return new()
        {
            ["precision"] = precision,
            ["recall"] = recall,
            ["f1"] = Ratio(2 * precision * recall, precision + recall),
            ["accuracy"] = Ratio(correctTokens, tokens),
        };
    }

    /// <summary>seqeval's get_entities for IOB2/IOBES tags: (type, first index, last index) per chunk.</summary>
    public static List<(string Type, int Start, int End)> Chunks(IReadOnlyList<string> tags)
    {
        var chunks = new List<(string, int, int)>();
        string prevTag = "O", prevType = "";
        var begin = 0;
        for (var i = 0; i <= tags.Count; i++)
        {
            var chunk = i < tags.Count ? tags[i] : "O";
            var tag = chunk[..1];
            var split = chunk[1..].Split('-', 2);
            var type = split[^1].Length > 0 ? split[^1] : "_";
            if (EndOfChunk(prevTag, tag, prevType, type)) chunks.Add((prevType, begin, i - 1));
            if (StartOfChunk(prevTag, tag, prevType, type)) begin = i;
            prevTag = tag; prevType = type;
        }
        return chunks;
    }

    static bool EndOfChunk(string prev, string tag, string prevType, string type) =>
        prev is "E" or "S"
        || (prev is "B" or "I" && tag is "B" or "S" or "O")
        || (prev != "O" && prev != "." && prevType != type);

    static bool StartOfChunk(string prev, string tag, string prevType, string type) =>
        tag is "B" or "S"
        || (prev is "E" or "S" or "O" && tag is "E" or "I")
        || (tag != "O" && tag != "." && prevType != type);

    static double Ratio(double a, double b) => b == 0 ? 0 : a / b;

    static double Pearson(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        double mx = x.Average(), my = y.Average(), sxy = 0, sxx = 0, syy = 0;
        for (var i = 0; i < x.Count; i++)
        {
            sxy += (x[i] - mx) * (y[i] - my); sxx += (x[i] - mx) * (x[i] - mx); syy += (y[i] - my) * (y[i] - my);
        }
        return sxx == 0 || syy == 0 ? 0 : sxy / Math.Sqrt(sxx * syy);
    }

    static double[] Ranks(IReadOnlyList<double> values)
    {
        var order = Enumerable.Range(0, values.Count).OrderBy(i => values[i]).ToArray();
        var ranks = new double[values.Count];
        for (var i = 0; i < order.Length;)
        {
            var j = i;
            while (j + 1 < order.Length && values[order[j + 1]] == values[order[i]]) j++;
            for (var k = i; k <= j; k++) ranks[order[k]] = (i + j) / 2.0 + 1;
            i = j + 1;
        }
        return ranks;
    }
}
