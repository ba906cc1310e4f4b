@testable import MedsettleCore
import ReferenceFiles

/// Verbatim copies of the demo data set's CSV files (`sql/seed/`), so the tests exercise the real formats and
/// values without reading files.
enum Fixtures {
    static let catalogCSV = """
        code,name,class,unit,price_limit_fen,first_selfpay_bp,traced
        A001,阿莫西林胶囊 0.25g×24粒,A,盒,1500,0,0
        A002,盐酸二甲双胍片 0.5g×20片,A,盒,1200,0,0
        A003,硝苯地平缓释片 20mg×30片,A,盒,2800,0,0
        A004,布洛芬缓释胶囊 0.3g×20粒,A,盒,1800,0,0
        A005,0.9%氯化钠注射液 250ml,A,瓶,500,0,0
        B001,阿托伐他汀钙片 20mg×7片,B,盒,3500,1000,0
        B002,头孢克肟分散片 100mg×6片,B,盒,2600,1000,0
        B003,奥美拉唑肠溶胶囊 20mg×14粒,B,盒,3000,500,0
        B004,胰岛素注射液 3ml:300单位,B,支,6800,1000,0
        C001,维生素C泡腾片 1g×10片,C,盒,0,0,0
        C002,复合维生素片 60片,C,瓶,0,0,0
        S001,床位费(普通病房),A,日,4000,0,0
        S002,护理费(二级护理),A,日,2500,0,0
        S003,CT平扫(单部位),B,次,20000,2000,0
        S004,血常规检查,A,次,2000,0,0
        S005,心脏彩色多普勒超声,B,次,28000,1000,0
        S006,冠脉药物洗脱支架,B,个,700000,3000,0
        S007,病房空调费,C,日,0,0,0
        A006,氯雷他定片 10mg×6片,A,盒,2000,0,1
        B005,瑞舒伐他汀钙片 10mg×28片,B,盒,4500,1000,1
        """

    static let policyCSV = """
        insurance,visit,level,deductible_fen,deductible_scope,fund_ratio_bp,annual_ceiling_fen,account_pays_full
        employee,pharmacy,0,0,year,0,0,0
        retiree,pharmacy,0,0,year,0,0,0
        resident,pharmacy,0,0,year,0,0,0
        employee,outpatient,1,20000,year,6000,300000,0
        employee,outpatient,2,20000,year,5500,300000,0
        employee,outpatient,3,20000,year,5000,300000,0
        retiree,outpatient,1,20000,year,7000,400000,0
        retiree,outpatient,2,20000,year,6500,400000,0
        retiree,outpatient,3,20000,year,6000,400000,0
        resident,outpatient,1,0,year,5000,40000,0
        resident,outpatient,2,0,year,4000,40000,0
        resident,outpatient,3,0,year,3000,40000,0
        employee,inpatient,1,30000,admission,9000,40000000,0
        employee,inpatient,2,60000,admission,8500,40000000,0
        employee,inpatient,3,100000,admission,8000,40000000,0
        retiree,inpatient,1,30000,admission,9500,40000000,0
        retiree,inpatient,2,60000,admission,9000,40000000,0
        retiree,inpatient,3,100000,admission,8500,40000000,0
        resident,inpatient,1,20000,admission,8500,15000000,0
        resident,inpatient,2,50000,admission,7500,15000000,0
        resident,inpatient,3,80000,admission,6000,15000000,0

        """

    static let institutionsCSV = """
        code,name,kind,level
        H001,示范市第一人民医院,hospital,3
        H002,示范市第二人民医院,hospital,2
        H003,示范市沁园社区卫生服务中心,hospital,1
        P001,示范大众大药房黄河大道店,pharmacy,0
        P002,示范仁和堂药店,pharmacy,0
        W001,社会保障卡服务窗口,window,0
        L001,12333咨询服务电话,hotline,0
        O001,人社服务APP,online,0
        G001,医疗保障经办中心,agency,0

        """

    static let terminalsCSV = """
        terminal,institution,key_hex,enabled
        H001-01,H001,2e523d0890e4726a74f26603c62c7b16f631d62042ffc425fa143a3a21e1ec52,1
        H001-02,H001,2af8f21e70b13ca139d163a124823adebd804a353720734df33841b04031f40f,1
        H002-01,H002,69827cd8eed460ff73353fd4b9f78ad329d5988666318f9be608951001406e94,1
        H003-01,H003,5705214f1c3a418616c9c8830601a2b24e7cd127759406b471ba6e3cfed0d006,1
        P001-01,P001,ae57ce5cec99c2d4e56d1304ef77143110ec80c2a141b6fd666ddad0e60382ac,1
        P001-02,P001,4a48d77da573d894558e7e03b68ee2796c760583004ab8fce9aab163a56f3a07,1
        P002-01,P002,4f1ab7169b30fe664e15ddff1b2683624fd8a54e87e3b2d8599bd3e583234c74,1
        P002-99,P002,00c4c910c5fa1002ab1962ebd6525ffd51e7ba64a29836ab5e6ac707896246b5,0
        W001-01,W001,5233b0baa8858580b8d5bf14ded5ed4e1e4eb9558822d05caea477ce9c2fa914,1
        L001-01,L001,0d5d1e5c9039da0582a1526aae552fc362ad190a05619c4d12ed39d737eb3509,1
        O001-01,O001,58c298ab2d856fe9e6da0e081f0850621ccd76c809703faf8c15d1ea7a0f88a8,1
        G001-01,G001,c4ceef2f49fb4e4a2ae978296533ebd28e8e9a6b3e659845629f916f7ea5323d,1

        """

    /// The fixture catalog and policy table, parsed once.
    static let reference: ReferenceData = {
        do {
            return ReferenceData(catalog: Dictionary(uniqueKeysWithValues: try CatalogFile.items(catalogCSV).map { ($0.code, $0) }),
                                 policies: Dictionary(uniqueKeysWithValues: try PolicyFile.policies(policyCSV).map { ($0.key, $0) }))
        }
        catch { fatalError("fixture reference data does not parse: \(error)") }
    }()

    /// Test-only items for edge cases the fixture catalog does not reach.
    static let extraItems: [CatalogItem] = [
        // Class B, no limit, 10 % first self-pay: base × 0.1 hits exact half fen at base 5, 15, 25…
        CatalogItem(code: "TB10", name: "test B 10%", itemClass: .b, unit: "x", priceLimit: 0, firstSelfPayBP: 1000),
        // Class B, no limit, 100 % first self-pay: nothing in scope.
        CatalogItem(code: "TB100", name: "test B 100%", itemClass: .b, unit: "x", priceLimit: 0, firstSelfPayBP: 10_000),
        // Class A without a limit, for huge amounts.
        CatalogItem(code: "TA0", name: "test A unlimited", itemClass: .a, unit: "x", priceLimit: 0, firstSelfPayBP: 0),
    ]

    static let catalog: [String: CatalogItem] = {
        var catalog = reference.catalog
        for item in extraItems { catalog[item.code] = item }
        return catalog
    }()

    static func policy(_ insurance: InsuranceType, _ visit: VisitType, _ level: Int) -> Policy {
        guard let policy = reference.policy(for: insurance, visit: visit, level: level) else {
            fatalError("no fixture policy \(insurance) \(visit) \(level)")
        }
        return policy
    }

    /// The fixture policy with `accountPaysFull` switched on (no fixture row has it).
    static func payingFull(_ p: Policy) -> Policy {
        Policy(insurance: p.insurance, visit: p.visit, level: p.level, deductible: p.deductible,
               deductibleScope: p.deductibleScope, fundRatioBP: p.fundRatioBP,
               annualCeiling: p.annualCeiling, accountPaysFull: true)
    }

    /// Parses the wire spelling `CODE*QTY@PRICE;…` (test helper only; the real parser is MSLP's).
    static func lines(_ text: String) -> [ClaimLine] {
        text.split(separator: ";").map { part in
            let codeAndRest = part.split(separator: "*")
            let qtyAndPrice = codeAndRest[1].split(separator: "@")
            return ClaimLine(code: String(codeAndRest[0]), quantity: quantity(String(qtyAndPrice[0])),
                             price: Int64(qtyAndPrice[1])!)
        }
    }

    static func quantity(_ text: String) -> Quantity {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        var milli = Int64(parts[0])! * 1000
        if parts.count == 2 {
            let frac = String(parts[1]) + String(repeating: "0", count: 3 - parts[1].count)
            milli += Int64(frac)!
        }
        return Quantity(milli: milli)
    }
}
