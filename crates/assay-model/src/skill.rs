//! The ten backend skills assay grades; their ids are fixed and part of the scorecard contract.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// One of the ten skills. Serialised as its fixed kebab-case id.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Skill {
    Languages,
    Databases,
    ApiDesign,
    Devops,
    Security,
    VersionControl,
    ProblemSolving,
    Performance,
    Frameworks,
    Communication,
}

impl Skill {
    /// All ten, in the order reports list them.
    pub const ALL: [Skill; 10] = [
        Skill::Languages,
        Skill::Databases,
        Skill::ApiDesign,
        Skill::Devops,
        Skill::Security,
        Skill::VersionControl,
        Skill::ProblemSolving,
        Skill::Performance,
        Skill::Frameworks,
        Skill::Communication,
    ];

    /// The fixed id, e.g. `api-design`.
    pub fn id(self) -> &'static str {
        match self {
            Skill::Languages => "languages",
            Skill::Databases => "databases",
            Skill::ApiDesign => "api-design",
            Skill::Devops => "devops",
            Skill::Security => "security",
            Skill::VersionControl => "version-control",
            Skill::ProblemSolving => "problem-solving",
            Skill::Performance => "performance",
            Skill::Frameworks => "frameworks",
            Skill::Communication => "communication",
        }
    }

    /// A human title, e.g. `API design`.
    pub fn title(self) -> &'static str {
        match self {
            Skill::Languages => "Languages",
            Skill::Databases => "Databases",
            Skill::ApiDesign => "API design",
            Skill::Devops => "DevOps",
            Skill::Security => "Security",
            Skill::VersionControl => "Version control",
            Skill::ProblemSolving => "Problem solving",
            Skill::Performance => "Performance",
            Skill::Frameworks => "Frameworks",
            Skill::Communication => "Communication",
        }
    }
}

impl fmt::Display for Skill {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// A skill id that is not one of the ten.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownSkill(pub String);

impl fmt::Display for UnknownSkill {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<&str> = Skill::ALL.iter().map(|s| s.id()).collect();
        write!(
            f,
            "unknown skill `{}`: use one of {}",
            self.0,
            ids.join(", ")
        )
    }
}

impl std::error::Error for UnknownSkill {}

impl FromStr for Skill {
    type Err = UnknownSkill;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Skill::ALL
            .into_iter()
            .find(|k| k.id() == s)
            .ok_or_else(|| UnknownSkill(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_serde_and_from_str() {
        for skill in Skill::ALL {
            let json = serde_json::to_string(&skill).expect("serialise");
            assert_eq!(json, format!("\"{}\"", skill.id()));
            assert_eq!(skill.id().parse::<Skill>(), Ok(skill));
        }
        assert!("api_design".parse::<Skill>().is_err());
    }
}
