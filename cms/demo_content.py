"""The demo portal's content, in Chinese and English (used by ``cms.demo``).

Guides follow DESIGN.md (the workflow and the six selection methods). The reform opinion's
page summarises the items of 枣政办字〔2019〕21号 that concern intermediary services; it is a
summary for the demo, not the official text.
"""

from __future__ import annotations

import datetime


def p(*paragraphs: str) -> dict:
    return {"type": "paragraph", "value": "".join(f"<p>{text}</p>" for text in paragraphs)}


def h(text: str) -> dict:
    return {"type": "heading", "value": text}


def steps(title: str, items: list[tuple[str, str]]) -> dict:
    return {
        "type": "steps",
        "value": {"title": title, "steps": [{"title": a, "text": b} for a, b in items]},
    }


def note(kind: str, text: str) -> dict:
    return {"type": "notice", "value": {"kind": kind, "text": f"<p>{text}</p>"}}


def link(text: str, url: str) -> dict:
    return {"type": "link", "value": {"text": text, "page": None, "url": url}}


REFORM_OPINION = {
    "slug": "zaozhengbanzi-2019-21",
    "issued_on": datetime.date(2019, 7, 24),
    "document_number": "枣政办字〔2019〕21号",
    "status": "in_force",
    "zh": {
        "title": "枣庄市人民政府办公室关于深化“一窗受理·一次办好”改革的实施意见（中介服务部分）",
        "issuing_body": "枣庄市人民政府办公室",
        "summary": "实施意见第十四至十六项：放开中介服务市场、规范中介服务行为、建设网上中介服务超市。",
        "body": [
            note(
                "info",
                "本页为平台演示数据，摘要介绍实施意见中与中介服务有关的条目，正式文本以发文机关公布的为准。",
            ),
            h("十四、放开中介服务市场"),
            p(
                "破除中介服务市场的地域和行业限制，不得限制符合条件的中介机构进入本地市场，不得设置中介机构数量限制。",
                "符合条件的中介机构均可申请入驻网上中介服务超市，做到“应进必进”，平等参与竞争。",
            ),
            h("十五、规范中介服务行为"),
            p(
                "中介服务收费标准向社会公开，缩减政府定价范围；切断审批部门与其所属或主管中介机构的利益关联。",
                "严禁指定中介机构、强制代理；严肃查处违规收费、出具虚假报告等行为。",
            ),
            h("十六、建设网上中介服务超市"),
            p(
                "依托网上中介服务超市，实行项目业主网上发布需求、中介机构网上竞价、服务过程网上监管，建立健全运行、服务和监管机制。",
                "加强信用监管，实行黑名单制度，开展“双随机、一公开”检查和中介服务“好差评”。",
            ),
            link("查看采购公告", "/projects/"),
        ],
    },
    "en": {
        "title": "Implementing opinion of the General Office of the Zaozhuang Municipal Government on deepening the one-window, one-visit reform (intermediary services)",
        "issuing_body": "General Office of the Zaozhuang Municipal Government",
        "summary": "Items 14 to 16 of the opinion: open the intermediary-service market, regulate how intermediaries behave, build the online intermediary supermarket.",
        "body": [
            note(
                "info",
                "Demo content: a summary of the items of the opinion that concern intermediary services. The official Chinese text published by the issuing body prevails.",
            ),
            h("14. Open the intermediary-service market"),
            p(
                "Remove regional and sector barriers: no qualified intermediary may be kept out of the local market, and there is no quota on their number.",
                "Every qualified intermediary may join the online supermarket and compete on equal terms.",
            ),
            h("15. Regulate intermediary services"),
            p(
                "Publish fee schedules and shrink government pricing; cut the ties between approving departments and the intermediaries they own or supervise.",
                "Designating an intermediary or forcing an agency is forbidden; irregular fees and false reports are punished.",
            ),
            h("16. Build the online intermediary supermarket"),
            p(
                "Owners post their needs online, intermediaries compete online and the service is supervised online, with rules for operation, service and supervision.",
                "Credit supervision with a blacklist, random inspections with published results and public ratings of service.",
            ),
            link("See the procurement announcements", "/projects/"),
        ],
    },
}

OTHER_POLICIES = [
    {
        "slug": "guobanfa-2015-31",
        "issued_on": datetime.date(2015, 4, 27),
        "document_number": "国办发〔2015〕31号",
        "status": "in_force",
        "zh": {
            "title": "国务院办公厅关于清理规范国务院部门行政审批中介服务的通知",
            "issuing_body": "国务院办公厅",
            "summary": "清理规范行政审批中介服务，破除垄断，切断利益关联，规范收费。",
            "body": [p("要求审批部门不得以任何形式指定中介服务机构，中介服务收费实行清单管理。")],
        },
        "en": {
            "title": "Notice of the General Office of the State Council on clearing up and regulating intermediary services for administrative approvals by State Council departments",
            "issuing_body": "General Office of the State Council",
            "summary": "Clear up and regulate approval-related intermediary services, break monopolies, cut ties and regulate fees.",
            "body": [
                p(
                    "Approving departments may not designate an intermediary in any form; fees for intermediary services are managed through a published list."
                )
            ],
        },
    },
    {
        "slug": "platform-rules-trial",
        "issued_on": datetime.date(2020, 3, 2),
        "document_number": "",
        "status": "repealed",
        "repealed_on": datetime.date(2023, 12, 31),
        "zh": {
            "title": "枣庄市网上中介服务超市运行管理规则（试行）",
            "issuing_body": "枣庄市行政审批服务局",
            "summary": "平台试运行期间的入驻、选取和评价规则（演示数据），已由现行规则替代。",
            "body": [p("本规则已废止，现行规则见本栏目其他文件及办事指南。")],
        },
        "en": {
            "title": "Operating rules of the Zaozhuang online intermediary supermarket (trial)",
            "issuing_body": "Zaozhuang Administrative Approval Service Bureau",
            "summary": "Rules for joining, selection and rating during the trial period (demo content), since replaced.",
            "body": [
                p("These rules are repealed; see the other documents in this section and the service guides.")
            ],
        },
    },
]


def _method_guide(slug, zh_title, en_title, zh_summary, en_summary, zh_steps, en_steps, zh_note, en_note):
    return {
        "slug": slug,
        "audience": "owner",
        "zh": {
            "title": zh_title,
            "summary": zh_summary,
            "body": [
                steps("怎么选", zh_steps),
                note("basis", zh_note),
                link("查看采用该方式的采购公告", "/projects/"),
            ],
        },
        "en": {
            "title": en_title,
            "summary": en_summary,
            "body": [
                steps("How it works", en_steps),
                note("basis", en_note),
                link("See announcements", "/projects/"),
            ],
        },
    }


GUIDES = [
    {
        "slug": "register",
        "audience": "intermediary",
        "zh": {
            "title": "中介机构如何入驻",
            "summary": "全年开放、不限地域：告知承诺制入驻，2个工作日内完成形式审查。",
            "body": [
                steps(
                    "入驻步骤",
                    [
                        ("注册账号", "使用统一社会信用代码注册，填写法定代表人、地址和联系方式。"),
                        (
                            "填报资质和人员",
                            "上传资质证书（类型、等级、编号、发证机关、有效期）和从业人员及近3个月社保证明。",
                        ),
                        ("申报股东和关联关系", "如实填报股东及持股比例，以及与审批部门的关联关系。"),
                        ("签署承诺书", "由法定代表人签署诚信承诺书，提交后即进入形式审查。"),
                        (
                            "公示服务和收费",
                            "入驻后为每项服务填报收费依据、费率、服务时限，收费标准向社会公开。",
                        ),
                    ],
                ),
                note(
                    "warning",
                    "虚假承诺将扣减信用分，情节严重的予以清退。资质过期的，不能报名要求该资质的项目。",
                ),
                link("立即注册", "/accounts/signup/"),
            ],
        },
        "en": {
            "title": "How an intermediary joins",
            "summary": "Open all year and nationwide: join by commitment, with a formal check within 2 working days.",
            "body": [
                steps(
                    "Steps",
                    [
                        (
                            "Create an account",
                            "Register with the unified social credit code, the legal representative, address and contacts.",
                        ),
                        (
                            "Qualifications and staff",
                            "Upload qualification certificates (type, level, number, authority, validity) and practitioners with 3 months of social-insurance proof.",
                        ),
                        (
                            "Shareholders and ties",
                            "Declare shareholders with their shares and any ties to approving departments.",
                        ),
                        (
                            "Sign the commitment",
                            "The legal representative signs the integrity commitment; the formal check starts on submission.",
                        ),
                        (
                            "Publish services and fees",
                            "Once listed, give the fee basis, rates and service time for each service; fees are public.",
                        ),
                    ],
                ),
                note(
                    "warning",
                    "A false commitment costs credit and can lead to delisting. An expired qualification stops the firm from applying where it is required.",
                ),
                link("Sign up", "/accounts/signup/"),
            ],
        },
    },
    {
        "slug": "post-a-project",
        "audience": "owner",
        "zh": {
            "title": "项目业主如何发布采购公告",
            "summary": "选择服务事项、填写限价和要求、选定选取方式，平台审核后公开。",
            "body": [
                steps(
                    "发布步骤",
                    [
                        (
                            "填写项目信息",
                            "服务事项、投资项目代码、审批事项、资金来源、项目规模、服务内容和时限。",
                        ),
                        ("设定价格区间", "最低限价和最高限价；政府定价或指导价的服务不得超出规定标准。"),
                        ("设定资格要求", "资质类型与等级不得高于该服务事项的标准，不得设置地域限制。"),
                        ("选择选取方式", "直接选取、随机抽取、竞价（最低价/最优价）、信用择优或比选。"),
                        ("提交审核", "平台审核通过后发布，报名期不少于5个工作日。"),
                    ],
                ),
                note("basis", "资格要求超出标准、设置地域限制属于监管规则FA04识别的情形。"),
                link("去发布项目", "/workspace/projects/new/"),
            ],
        },
        "en": {
            "title": "How an owner posts a project",
            "summary": "Choose the service, set the price range and requirements, pick a selection method; the platform checks it before it is published.",
            "body": [
                steps(
                    "Steps",
                    [
                        (
                            "Describe the project",
                            "Service type, investment-project code, approval item, funding source, scale, service content and time.",
                        ),
                        (
                            "Set the price range",
                            "A floor and a ceiling; services with government-set or guided prices must stay within the band.",
                        ),
                        (
                            "Set requirements",
                            "Qualification type and level no higher than the service type's standard, nothing regional.",
                        ),
                        (
                            "Choose the selection method",
                            "Direct selection, random draw, lowest or reference price, credit preference or scored comparison.",
                        ),
                        (
                            "Submit for the check",
                            "The platform checks and publishes it; registration lasts at least 5 working days.",
                        ),
                    ],
                ),
                note(
                    "basis",
                    "Requirements beyond the standard or regional wording are flagged by monitoring rule FA04.",
                ),
                link("Post a project", "/workspace/projects/new/"),
            ],
        },
    },
    _method_guide(
        "direct-selection",
        "选取方式：直接选取",
        "Selection method: direct selection",
        "业主直接指定中介机构，仅限金额低于规定额度的项目，须书面说明理由。",
        "The owner picks the intermediary; allowed only below a threshold, always with a written reason.",
        [
            ("确认额度", "财政资金项目低于5万元、非财政资金项目低于20万元方可直接选取（以平台设置为准）。"),
            ("选定机构并说明理由", "在报名的合格机构中选定一家，填写书面理由，理由随结果公示。"),
            ("公示结果", "结果公示期内，其他报名机构可提出异议。"),
        ],
        [
            (
                "Check the threshold",
                "Fiscal projects below 50,000 yuan and private ones below 200,000 yuan (as configured on the platform).",
            ),
            (
                "Pick and give a reason",
                "Pick one qualified applicant and write the reason, which is published with the result.",
            ),
            ("Publish the result", "Other applicants may object during the publicity period."),
        ],
        "超过额度直接选取的，由监管规则FA01标记；同一业主反复直接选取同一机构的，由FA02标记。",
        "Direct selection above the threshold is flagged by rule FA01; one owner repeatedly picking the same firm by FA02.",
    ),
    _method_guide(
        "random-draw",
        "选取方式：随机抽取",
        "Selection method: random draw",
        "在合格报名机构中按业主确定的价格随机抽取，过程可公开验证。",
        "A draw among valid applicants at the owner's fixed price, verifiable by anyone.",
        [
            ("发布时承诺密钥", "发布项目时平台生成密钥并公开其SHA-256摘要。"),
            ("报名截止", "财政资金项目有效报名不足3家的，本轮流标。"),
            ("抽取", "选取时公开密钥，根据密钥、项目和排序后的候选名单确定性地算出中选机构。"),
            ("验证", "任何人都可在项目的“验证抽取”页面重新计算，抽取不能重复进行。"),
        ],
        [
            (
                "Commit at publication",
                "When the project is published the platform commits to a secret and publishes its SHA-256.",
            ),
            ("Registration closes", "A fiscal project with fewer than 3 valid applicants fails this round."),
            (
                "Draw",
                "The secret is revealed and the winner derived from the secret, the project and the sorted candidates.",
            ),
            (
                "Verify",
                "Anyone can recompute it on the project's verification page; a draw can never be rerun.",
            ),
        ],
        "随机抽取的过程和参数全部公开，抽取结果可复核。",
        "Every input of the draw is published, so its result can be checked.",
    ),
    _method_guide(
        "lowest-price",
        "选取方式：竞价选取（最低价）",
        "Selection method: lowest price",
        "有效报价最低者中选，报价相同的随机抽取。",
        "The lowest valid quote wins; ties are broken by a draw.",
        [
            ("密封报价", "报名时提交报价，截止前任何人（包括平台）都无法查看。"),
            ("开启报价", "报名截止后统一开启，报价须在最低限价和最高限价之间。"),
            ("确定中选", "最低有效报价中选；并列时按可验证的随机方式确定。"),
        ],
        [
            (
                "Sealed quotes",
                "Quotes are sealed; nobody, the platform included, can read them before the deadline.",
            ),
            (
                "Opening",
                "Quotes open when registration closes and must lie between the floor and the ceiling.",
            ),
            ("Winner", "The lowest valid quote wins; a tie is broken by a verifiable draw."),
        ],
        "异常低价由监管规则FE07标记，最低价被取消资格的情形由CO06标记。",
        "Abnormally low quotes are flagged by rule FE07; a disqualified lowest quote by CO06.",
    ),
    _method_guide(
        "reference-price",
        "选取方式：竞价选取（最优价）",
        "Selection method: reference price",
        "去掉最高和最低报价，其余报价均值乘以随机系数得出参考价，最接近者中选。",
        "Drop the highest and lowest quotes, multiply the mean of the rest by a drawn coefficient; the nearest quote wins.",
        [
            ("开启报价", "报名截止后开启全部有效报价。"),
            ("计算均值", "去掉一个最高价和一个最低价，计算其余报价的平均值。"),
            ("抽取系数", "在95%至98%之间随机抽取系数，平均值乘以系数得出参考价。"),
            ("确定中选", "报价最接近参考价的机构中选。"),
        ],
        [
            ("Open the quotes", "All valid quotes open when registration closes."),
            ("Mean", "Drop one highest and one lowest quote and take the mean of the rest."),
            ("Coefficient", "Draw a coefficient between 95% and 98% and multiply the mean by it."),
            ("Winner", "The quote nearest the reference price wins."),
        ],
        "系数的抽取同样可公开验证。",
        "The draw of the coefficient is verifiable too.",
    ),
    _method_guide(
        "credit-preference",
        "选取方式：信用择优",
        "Selection method: credit preference",
        "按信用排序形成长名单，随机抽取短名单，业主从短名单中择优并说明理由。",
        "Rank applicants by credit, keep a long list, draw a short list; the owner picks from it with a reason.",
        [
            ("信用排序", "按信用分对合格报名机构排序，取前7名形成长名单。"),
            ("抽取短名单", "从长名单中随机抽取3家形成短名单。"),
            ("择优选定", "业主从短名单中选定一家，并书面说明理由。"),
        ],
        [
            ("Rank by credit", "Rank valid applicants by credit score and keep the top 7 as the long list."),
            ("Draw the short list", "Draw 3 firms from the long list at random."),
            ("Pick", "The owner picks one from the short list and writes the reason."),
        ],
        "有效报名不足2家的流标。业主的择优结果总落在同一机构的，由监管规则FA09标记。",
        "Fewer than 2 valid applicants fails the round. An owner whose picks always land on the same firm is flagged by rule FA09.",
    ),
    _method_guide(
        "scored-comparison",
        "选取方式：比选（方案择优）",
        "Selection method: scored comparison",
        "按公布的价格分和方案分权重，由署名评审人打分，综合得分最高者中选。",
        "Published weights for price and proposal; named evaluators score; the best total wins.",
        [
            ("公布权重", "发布项目时公布价格分和方案分的权重。"),
            ("评审打分", "评审人对各方案打分，评审人姓名和分数全部记录。"),
            ("确定中选", "综合得分最高的机构中选，评分记录随结果公示。"),
        ],
        [
            ("Publish the weights", "The project states the weights of price and proposal."),
            ("Scoring", "Evaluators score each proposal; their names and scores are recorded."),
            ("Winner", "The best total wins; the scores are published with the result."),
        ],
        "有效报名不足2家的流标。",
        "Fewer than 2 valid applicants fails the round.",
    ),
    {
        "slug": "complaints",
        "audience": "public",
        "zh": {
            "title": "如何投诉举报和提出异议",
            "summary": "对中选结果有异议、发现指定中介或乱收费的，可在线提出。",
            "body": [
                steps(
                    "办理方式",
                    [
                        (
                            "对结果提出异议",
                            "报名机构在结果公示期内，在项目页面提交异议，业主须在签订合同前答复。",
                        ),
                        (
                            "投诉举报",
                            "发现指定中介、强制代理、违规收费或虚假报告的，拨打12345或向监管部门反映。",
                        ),
                        ("查看处理结果", "案件办结后，处理结论向社会公开。"),
                    ],
                ),
                link("查看案件处理结果", "/disclosure/cases/"),
            ],
        },
        "en": {
            "title": "How to complain or object",
            "summary": "Object to a result, or report a designated intermediary or an irregular fee, online.",
            "body": [
                steps(
                    "How",
                    [
                        (
                            "Object to a result",
                            "Applicants object on the project page during publicity; the owner answers before the contract.",
                        ),
                        (
                            "Report",
                            "Report designation, forced agency, irregular fees or false reports through 12345 or to the regulator.",
                        ),
                        ("See the outcome", "Concluded cases are published."),
                    ],
                ),
                link("See concluded cases", "/disclosure/cases/"),
            ],
        },
    },
]

NOTICES = [
    {
        "slug": "supermarket-in-operation",
        "date": datetime.date(2026, 1, 5),
        "kind": "notice",
        "zh": {
            "title": "关于枣庄市网上中介服务超市正式运行的通告",
            "summary": "网上中介服务超市正式运行，全市审批相关中介服务项目均通过超市选取。",
            "body": [
                p(
                    "自即日起，全市使用财政资金的行政审批中介服务项目原则上通过网上中介服务超市选取中介机构，欢迎符合条件的中介机构入驻。"
                )
            ],
        },
        "en": {
            "title": "The Zaozhuang online intermediary supermarket is in operation",
            "summary": "The supermarket is in operation; approval-related intermediary services in the city are selected through it.",
            "body": [
                p(
                    "From today, fiscally funded intermediary services for administrative approvals are, as a rule, procured through the online supermarket. Qualified intermediaries are welcome to join."
                )
            ],
        },
    },
    {
        "slug": "random-inspections-2026",
        "date": datetime.date(2026, 3, 16),
        "kind": "notice",
        "zh": {
            "title": "关于开展2026年度中介服务“双随机、一公开”检查的通知",
            "summary": "随机抽取检查对象和检查人员，检查结果向社会公开。",
            "body": [
                p("检查对象和检查人员均通过平台可验证的随机方式抽取，检查结果在“双随机抽查结果”栏目公开。"),
                link("查看抽查结果", "/disclosure/inspections/"),
            ],
        },
        "en": {
            "title": "Notice on the 2026 random inspections of intermediary services",
            "summary": "Targets and inspectors are drawn at random and the results are published.",
            "body": [
                p(
                    "Both the firms inspected and the inspectors are drawn verifiably on the platform; results are published under inspection results."
                ),
                link("See inspection results", "/disclosure/inspections/"),
            ],
        },
    },
    {
        "slug": "fee-disclosure-work-meeting",
        "date": datetime.date(2026, 5, 20),
        "kind": "news",
        "zh": {
            "title": "市审批服务局召开中介服务收费公示工作推进会",
            "summary": "推进入驻机构收费标准全面公示，清理规范中介服务收费。",
            "body": [
                p("会议要求入驻机构对每项服务的收费依据、费率和服务时限全部公示，调整收费须在平台留痕。"),
                link("查看收费公示", "/fees/"),
            ],
        },
        "en": {
            "title": "Approval Service Bureau holds a meeting on fee disclosure",
            "summary": "Every listed firm's fees to be fully disclosed; intermediary fees to be regulated.",
            "body": [
                p(
                    "Listed firms must publish the fee basis, rates and service time of every service; every fee change is recorded on the platform."
                ),
                link("See fee disclosure", "/fees/"),
            ],
        },
    },
]

FAQ = {
    "zh": [
        ("外地中介机构可以入驻吗？", "可以。入驻不设地域、行业和数量限制，符合资质条件的中介机构均可申请。"),
        ("入驻需要多长时间？", "实行告知承诺制，形式审查在2个工作日内完成，通过后即可展示和承接业务。"),
        ("报名后能看到其他机构的报价吗？", "不能。报价在报名截止前密封，任何人（包括平台）都无法查看。"),
        ("对中选结果有异议怎么办？", "在结果公示期内通过项目页面提出异议，业主须在签订合同前答复。"),
        (
            "哪里可以查询中介机构的收费和评价？",
            "在“收费公示”和中介机构的主页上可查询收费标准、历史调整和服务评价。",
        ),
    ],
    "en": [
        (
            "Can firms from outside the city join?",
            "Yes. There are no regional, sector or quantity limits; every qualified intermediary may apply.",
        ),
        (
            "How long does joining take?",
            "Joining is by commitment; the formal check takes at most 2 working days, after which the firm is listed.",
        ),
        (
            "Can I see other firms' quotes after applying?",
            "No. Quotes are sealed until registration closes; nobody, the platform included, can read them.",
        ),
        (
            "What if I disagree with a result?",
            "Object on the project page during the publicity period; the owner must answer before the contract.",
        ),
        (
            "Where can I see a firm's fees and ratings?",
            "Under fee disclosure and on the firm's profile: fee schedules, their history and ratings.",
        ),
    ],
}

SECTION_TRANSLATIONS = {
    "news": ("News and notices", "Notices and news from the platform."),
    "policies": ("Policy documents", "Laws, regulations and policy documents on intermediary services."),
    "guides": (
        "Service guides",
        "How to join, post a project, how each selection method works and how to complain.",
    ),
    "faq": ("FAQ", "Questions intermediaries, owners and the public often ask."),
}
HOME_TRANSLATION = (
    "Zaozhuang Online Intermediary Service Supermarket",
    "Choose intermediaries online, check fees online, follow the service online.",
)
