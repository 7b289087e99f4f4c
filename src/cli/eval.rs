//! `docent eval answers --questions FILE [--json]`: answer-quality rates against the ingested book.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;

use crate::answer::eval::{evaluate, parse_questions};
use crate::answer::{AnswerService, ExtractiveParams};
use crate::components::Components;
use crate::config::Settings;

#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    #[command(subcommand)]
    target: EvalTarget,
}

#[derive(Debug, Subcommand)]
enum EvalTarget {
    /// Contains-gold, false-refusal and refusal rates of the answers.
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
    let EvalTarget::Answers { questions, json } = args.target;
    let _guard = super::cli_telemetry(&settings);
    let questions = match std::fs::read_to_string(&questions).map(|t| parse_questions(&t)) {
        Ok(Ok(questions)) => questions,
        Ok(Err(err)) => return super::fail(&err),
        Err(err) => return super::fail(&err),
    };
    super::runtime().block_on(async move {
        let components = match Components::open(&settings).await {
            Ok(c) => c,
            Err(err) => return super::fail(&err),
        };
        let service = AnswerService::new(components.retriever, components.db, ExtractiveParams::default());
        match evaluate(&service, &questions).await {
            Ok(report) if json => println!("{}", serde_json::to_string_pretty(&report).unwrap_or_default()),
            Ok(r) => {
                println!("questions             {} ({} answerable)", r.questions, r.answerable);
                println!("contains gold         {:.3}", r.contains_gold);
                println!("false refusal         {:.3}", r.false_refusal);
                println!("refused unanswerable  {:.3}", r.refused_unanswerable);
                println!("mean latency          {:.1} ms", r.mean_latency_ms);
            }
            Err(err) => return super::fail(&err),
        }
        ExitCode::SUCCESS
    })
}
