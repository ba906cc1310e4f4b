import CoreMetrics
import Logging
import MedsettleStore
import NIOPosix
import ServiceLifecycle

/// Purges the records of used QR tokens past their expiry (`QRUsePurge`) in the background: every
/// `interval`, batches of at most `batch` rows until one comes back short, at most
/// `maxBatchesPerRound` of them (the rest waits for the next round), each on a thread of its own
/// rather than the concurrency pool's (libpq blocks). Counted in
/// `medsettle_qr_uses_purged_total`. A failure (the database away) is logged, at most once a
/// round, and tried again next round.
struct QRPurgeService: Service {
    static let maxBatchesPerRound = 100

    let purge: QRUsePurge
    let interval: Duration
    let batch: Int
    let purged: Counter
    let logger: Logger

    init(purge: QRUsePurge, interval: Duration, batch: Int, metricsFactory: any MetricsFactory, logger: Logger) {
        self.purge = purge
        self.interval = interval
        self.batch = batch
        self.purged = Counter(label: "medsettle_qr_uses_purged_total", factory: metricsFactory)
        self.logger = logger
    }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do { try await Task.sleep(for: interval) } catch { return }
                await round()
            }
        }
    }

    /// One round of batches.
    private func round() async {
        let (purge, batch) = (purge, batch)
        for _ in 0..<Self.maxBatchesPerRound where !Task.isCancelled {
            do {
                let count = try await NIOThreadPool.singleton.runIfActive { try purge.purgeBatch(limit: batch) }
                purged.increment(by: count)
                if count < batch { return }
            } catch {
                logger.warning("purging used QR tokens failed; trying again later", metadata: ["error": "\(error)"])
                return
            }
        }
    }
}
