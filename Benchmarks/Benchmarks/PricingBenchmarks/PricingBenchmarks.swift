// What: pricing one claim (RULES.md §4) as a SETTLE does it once the person's accumulators are read:
// the policy row lookup, then `Pricing.price` over the lines against the catalog.
// Why: it runs on every PRICE, SETTLE and DISCHARGE, inside the settlement's transaction, so its
// time adds to the time a cardholder's lock is held; allocations show what it costs the heap.
//
// The catalog and policy table are the demo's own (sql/seed/catalog.csv, policy.csv), loaded with
// the engine's reference-file readers (ReferenceFiles) before anything is measured. The claim is an
// employee's 5-line purchase touching every branch of the per-line rules: class A within and above
// its price limit, class B with a 10 % and a 5 % first self-paid share, and class C.

import Benchmark
import Foundation
import MedsettleCore
import ReferenceFiles

enum Inputs {
    /// sql/seed/, found from this file: Benchmarks/Benchmarks/PricingBenchmarks/ → the checkout's root.
    static let seedFolder = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("sql/seed")

    static func loadReferenceData() -> ReferenceData {
        do {
            let catalog = try String(contentsOf: seedFolder.appendingPathComponent("catalog.csv"), encoding: .utf8)
            let policy = try String(contentsOf: seedFolder.appendingPathComponent("policy.csv"), encoding: .utf8)
            return ReferenceData(catalog: Dictionary(uniqueKeysWithValues: try CatalogFile.items(catalog).map { ($0.code, $0) }),
                                 policies: Dictionary(uniqueKeysWithValues: try PolicyFile.policies(policy).map { ($0.key, $0) }))
        } catch {
            fatalError("cannot load the demo reference data from \(seedFolder.path): \(error)")
        }
    }

    /// `A001*2@1250;A003*1@3000;B001*2@3200;B003*1@3000;C001*1@3000`.
    static let fiveLines = [
        ClaimLine(code: "A001", quantity: Quantity(milli: 2000), price: 1250), // A, within its 1500 limit
        ClaimLine(code: "A003", quantity: Quantity(milli: 1000), price: 3000), // A, 200 over its 2800 limit
        ClaimLine(code: "B001", quantity: Quantity(milli: 2000), price: 3200), // B, 10 % first self-paid
        ClaimLine(code: "B003", quantity: Quantity(milli: 1000), price: 3000), // B, 5 % first self-paid
        ClaimLine(code: "C001", quantity: Quantity(milli: 1000), price: 3000), // C, all self-paid
    ]

    /// Part of the deductible and of the year's fund ceiling already used, and money in the account.
    static let deductibleMet: Fen = 5_000
    static let fundPaidThisYear: Fen = 10_000
    static let balance: Fen = 47_500
}

let benchmarks: @Sendable () -> Void = {
    let reference = Inputs.loadReferenceData()

    // Level 0 (a pharmacy): no fund share, the account pays the in-scope part.
    // Level 2 (an outpatient visit at a level-2 hospital): deductible, 55 % fund share, ceiling.
    for (visit, level) in [(VisitType.pharmacy, 0), (VisitType.outpatient, 2)] {
        let name = "Pricing.price employee \(visit.rawValue) level \(level), 5 lines"
        // Checked once before measuring: the claim must price, not fail on an unknown code.
        guard let policy = reference.policy(for: .employee, visit: visit, level: level),
              case .success(let priced) = Pricing.price(
                  PricingInput(lines: Inputs.fiveLines, policy: policy, deductibleMet: Inputs.deductibleMet,
                               fundPaidThisYear: Inputs.fundPaidThisYear, balance: Inputs.balance),
                  catalog: reference.catalog),
              priced.lines.count == 5
        else { fatalError("\(name): the demo data no longer prices this claim") }

        Benchmark(name, configuration: .init(
            // No `.cpuTotal`: Linux counts CPU time in 10 ms ticks, and reading it allocates.
            metrics: [.wallClock, .mallocCountTotal, .throughput],
            timeUnits: .nanoseconds,
            warmupIterations: 3,
            scalingFactor: .kilo,
            maxDuration: .seconds(1),
            maxIterations: 10_000
        )) { benchmark in
            let lines = Inputs.fiveLines
            for _ in benchmark.scaledIterations {
                // The policy lookup is part of every settlement's pricing step (Settlement.swift).
                let policy = reference.policy(for: .employee, visit: visit, level: level)!
                let input = PricingInput(lines: lines, policy: policy, deductibleMet: Inputs.deductibleMet,
                                         fundPaidThisYear: Inputs.fundPaidThisYear, balance: Inputs.balance)
                blackHole(Pricing.price(input, catalog: reference.catalog))
            }
        }
    }
}
