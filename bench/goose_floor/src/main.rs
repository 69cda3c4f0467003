//! The floor benchmark's Goose side (bench/floor.py): each user sends `GET /` in a loop with no wait, as the
//! Locust and rlocust users of the same benchmark do. Goose's own command line sets the users, the host and the
//! run time (`--users 50 --increase-rate 50 --run-time 15s --host http://127.0.0.1:PORT`).
use goose::prelude::*;

async fn index(user: &mut GooseUser) -> TransactionResult {
    let _response = user.get("/").await?;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), GooseError> {
    GooseAttack::initialize()?
        .register_scenario(scenario!("Floor").register_transaction(transaction!(index)))
        .execute()
        .await?;
    Ok(())
}
