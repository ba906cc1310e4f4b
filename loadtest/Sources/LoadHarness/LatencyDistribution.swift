import Histogram

/// A run's latencies as HdrHistogram percentile distributions, the `.hgrm` text that the usual
/// plotters (HdrHistogram's plotFiles.html, hdr-plot) read: values in milliseconds, five reporting
/// points per halving of the distance to 100 %, then the mean, the maximum and the count.
public enum LatencyDistribution {
    /// `latency.hgrm` for the whole run and `latency-VERB.hgrm` for each verb it sent, by file name.
    public static func files(of stats: LoadStats) -> [String: String] {
        var files = ["latency.hgrm": hgrm(stats.latencies)]
        for (verb, histogram) in stats.latenciesByVerb {
            files["latency-\(verb).hgrm"] = hgrm(histogram)
        }
        return files
    }

    /// The distribution of `histogram` (microseconds) in the `.hgrm` format, in milliseconds.
    static func hgrm(_ histogram: Histogram<UInt64>) -> String {
        var text = ""
        histogram.outputPercentileDistribution(to: &text, outputValueUnitScalingRatio: 1_000)
        return text
    }
}
