//! `docent eval retrieval --questions FILE.jsonl [--k 1,5,10] [--json]`: hit@k and MRR for
//! hybrid, BM25-only and dense-only retrieval over the ingested book.
//! `docent eval answers --questions FILE.jsonl [--json]`: contains-gold, false-refusal and
//! refusal rates of the answers.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;

use crate::answer::eval::{EvalReport, evaluate};
use crate::components::Components;
use crate::config::Settings;
use crate::eval::{RetrievalReport, evaluate_retrieval, read_questions};

#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    #[command(subcommand)]
    what: EvalWhat,
}

#[derive(Debug, Subcommand)]
enum EvalWhat {
    /// Retrieval quality: hit@k and MRR per search mode.
    Retrieval {
        /// JSONL file of {"question", "answers", "answerable"} objects.
        #[arg(long)]
        questions: PathBuf,
        /// Cut-offs to report.
        #[arg(long, value_delimiter = ',', default_value = "1,5,10")]
        k: Vec<usize>,
        #[arg(long)]
        json: bool,
    },
    /// Answer quality: contains-gold, false-refusal and refusal rates.
    Answers {
        /// JSON lines: {"question", "answers": [..], "answerable": bool}.
        #[arg(long)]
        questions: PathBuf,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(settings: Settings, args: EvalArgs) -> ExitCode {
    let _guard = super::cli_telemetry(&settings);
    match args.what {
        EvalWhat::Retrieval { questions, k, json } => retrieval(settings, questions, k, json),
        EvalWhat::Answers { questions, json } => answers(settings, questions, json),
    }
}

fn retrieval(settings: Settings, questions: PathBuf, k: Vec<usize>, json: bool) -> ExitCode {
    let questions = match read_questions(&questions) {
        Ok(q) => q,
        Err(err) => return super::fail(&err),
    };
    super::runtime().block_on(async move {
        let components = match Components::open(&settings).await {
            Ok(c) => c,
            Err(err) => return super::fail(&err),
        };
        match evaluate_retrieval(&components.retriever, &questions, &k).await {
            Ok(report) if json => {
                println!("{}", serde_json::to_string_pretty(&report).unwrap_or_default());
                ExitCode::SUCCESS
            }
            Ok(report) => {
                print_table(&report);
                ExitCode::SUCCESS
            }
            Err(err) => super::fail(&err),
        }
    })
}

fn print_table(report: &RetrievalReport) {
    println!("{} answerable questions", report.questions);
    let header: Vec<String> = report.modes[0].hits.iter().map(|(k, _)| format!("hit@{k}")).collect();
    println!("| mode | {} | MRR | p50 ms |", header.join(" | "));
    println!("|---|{}---|---|", "---|".repeat(header.len()));
    for m in &report.modes {
        let cells: Vec<String> = m.hits.iter().map(|(_, v)| format!("{v:.3}")).collect();
        println!("| {:?} | {} | {:.3} | {:.1} |", m.mode, cells.join(" | "), m.mrr, m.p50_ms);
    }
}

fn answers(settings: Settings, questions: PathBuf, json: bool) -> ExitCode {
    let questions = match read_questions(&questions) {
        Ok(q) => q,
        Err(err) => return super::fail(&err),
    };
    super::runtime().block_on(async move {
        let components = match Components::open(&settings).await {
            Ok(c) => c,
            Err(err) => return super::fail(&err),
        };
        let (service, calibration) = components.measured_answers(&settings).await;
        let background_support = calibration.map(|c| c.background);
        let report = evaluate(&service, &questions).await.map(|r| EvalReport { background_support, ..r });
        match report {
            Ok(report) if json => println!("{}", serde_json::to_string_pretty(&report).unwrap_or_default()),
            Ok(r) => {
                println!("questions             {} ({} answerable)", r.questions, r.answerable);
                println!("contains gold         {:.3}", r.contains_gold);
                println!("false refusal         {:.3}", r.false_refusal);
                println!("refused unanswerable  {:.3}", r.refused_unanswerable);
                println!("latency               p50 {:.1} ms, mean {:.1} ms", r.p50_latency_ms, r.mean_latency_ms);
                let background = r.background_support.map(|b| format!(" (book background {b:.2})")).unwrap_or_default();
                println!("refusal threshold     {:.2}{background}", r.refusal_threshold);
            }
            Err(err) => return super::fail(&err),
        }
        ExitCode::SUCCESS
    })
}
