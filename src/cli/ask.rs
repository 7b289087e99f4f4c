//! `docent ask "question" [--json] [--chapter SLUG]`: answer one question from the ingested book.

use std::process::ExitCode;

use crate::answer::{Answer, AnswerRequest};
use crate::components::Components;
use crate::config::Settings;

#[derive(Debug, clap::Args)]
pub struct AskArgs {
    /// The question.
    question: String,
    /// Restrict retrieval to one chapter (its slug).
    #[arg(long)]
    chapter: Option<String>,
    /// Print the whole answer object as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(settings: Settings, args: AskArgs) -> ExitCode {
    let _guard = super::cli_telemetry(&settings);
    super::runtime().block_on(async move {
        let components = match Components::open(&settings).await {
            Ok(c) => c,
            Err(err) => return super::fail(&err),
        };
        let (service, _) = components.measured_answers(&settings).await;
        let request = AnswerRequest { message: args.question, chapter: args.chapter, ..Default::default() };
        match service.answer(request).await {
            Ok(answer) if args.json => {
                println!("{}", serde_json::to_string_pretty(&answer).unwrap_or_default());
                ExitCode::SUCCESS
            }
            Ok(answer) => {
                print_answer(&answer);
                ExitCode::SUCCESS
            }
            Err(err) => super::fail(&err),
        }
    })
}

fn print_answer(answer: &Answer) {
    println!("{}\n", answer.answer);
    for c in &answer.citations {
        let place = if c.heading_path.is_empty() { &c.title } else { &c.heading_path };
        println!("[{}] {place} — {}", c.n, c.url.as_deref().unwrap_or(""));
    }
    println!(
        "\nstatus: {}, confidence: {:.2} ({:?})",
        answer.status.as_str(),
        answer.confidence,
        answer.confidence_level
    );
}
