//! `docent eval retrieval --questions FILE.jsonl [--k 1,5,10] [--json]`: hit@k and MRR for
//! hybrid, BM25-only and dense-only retrieval over the ingested book.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;

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
}

pub fn run(settings: Settings, args: EvalArgs) -> ExitCode {
    let _guard = super::cli_telemetry(&settings);
    let EvalWhat::Retrieval { questions, k, json } = args.what;
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
