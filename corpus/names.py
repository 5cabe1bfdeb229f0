"""Word lists for finding speakers in news text: titles, roles, places, first names (with their
usual gender, to resolve "he" and "she"), and the words that start sentences without being names."""

from __future__ import annotations


def words(text: str) -> frozenset[str]:
    return frozenset(text.split())


TITLES = words(
    """mr mrs ms miss mx dr prof gen general lt col colonel maj major capt captain sgt adm admiral
    cmdr sen senator rep representative gov governor president vice prime premier minister foreign
    defence defense finance interior trade home secretary secretary-general chancellor ambassador
    envoy chief justice judge king queen prince princess pope sheikh deputy chairman chairwoman
    spokesman spokeswoman leader attorney mayor commander lord lady sir dame"""
)
FEMALE_TITLES = words("mrs ms miss queen princess lady dame chairwoman spokeswoman")
MALE_TITLES = words("mr king prince lord sir chairman spokesman")
# Lower-case words before a name that make it a person ("spokeswoman Lee Eugene").
ROLES = words(
    """spokeswoman spokesman spokesperson chief adviser advisor envoy ambassador minister president
    secretary dictator leader official general senator chancellor director analyst"""
)
FEMALE_ROLES = words("spokeswoman chairwoman congresswoman businesswoman")
MALE_ROLES = words("spokesman chairman congressman businessman")
# people named only by what they are ("Authorities said", "Officials warned"): a quote's
# attribution, but no one a question can ask about by name
GROUPS = words(
    """authorities officials police experts prosecutors analysts sources critics residents
    researchers scientists doctors investigators lawmakers witnesses protesters observers
    economists officers activists organizers organisers rescuers firefighters regulators
    diplomats voters workers leaders"""
)
ORG_HEADS = words(
    """house times council ministry department office agency nations union party post news
    government parliament congress senate committee commission bank court army navy embassy
    kremlin pentagon journal daily tribune herald guardian telegraph organisation organization
    association institute university fund group company corporation inc ltd foundation board
    federation league assembly administration"""
)
PLACES = words(
    """korea china russia america japan germany france britain europe iran iraq syria israel india
    pakistan ukraine taiwan canada mexico moscow washington beijing pyongyang seoul tokyo berlin
    paris london minsk brussels kiev kyiv tehran states kingdom"""
)
DEMONYMS = words(
    """american chinese russian korean japanese german french british european iranian iraqi
    syrian israeli indian pakistani ukrainian taiwanese canadian mexican western emirati saudi
    turkish belarusian polish italian spanish portuguese dutch belgian swiss austrian swedish
    norwegian danish finnish irish scottish welsh english greek egyptian libyan lebanese
    jordanian palestinian afghan nigerian kenyan ethiopian african asian australian brazilian
    argentine argentinian venezuelan colombian chilean peruvian cuban haitian filipino
    vietnamese thai indonesian malaysian singaporean bangladeshi nepalese qatari yemeni kurdish
    hungarian romanian bulgarian serbian croatian czech slovak georgian armenian kazakh
    uzbek mongolian tibetan latin arab arabic persian eastern northern southern"""
)
ACRONYMS = words("US U.S. UK U.K. UN U.N. EU NATO")
ALIASES = {
    "us": "united states",
    "usa": "united states",
    "uk": "united kingdom",
    "un": "united nations",
    "eu": "european union",
}
CALENDAR = words(
    """Monday Tuesday Wednesday Thursday Friday Saturday Sunday January February March April May
    June July August September October November December"""
)
STARTERS = words(
    """The A An He She It They We I You But And Or So Yet In On At For This That These Those There
    Its His Her Their Our My What Why How When Where Who Which While After Before Although However
    Meanwhile Still Under Last If As With By From Since Despite Three Two One Some Many Then"""
)
FIRST_NAMES_MALE = words(
    """donald rex sergei sergey jim james john michael david robert william richard joseph thomas
    charles christopher daniel matthew mark paul steven steve andrew kenneth george edward brian
    ronald anthony kevin jason jeff jeffrey gary timothy larry frank scott eric stephen jacob
    raymond patrick jack dennis jerry henry adam douglas peter walter harold carl keith roger
    gerald sean arthur joe bill mike barack vladimir boris emmanuel shinzo sigmar justin benjamin
    narendra dmitry mikhail igor ivan alexei mohammed ahmed ali omar hassan jean-claude pierre hans
    klaus olaf rishi keir tony gordon nicolas francois angus hugh ted mitch chuck lindsey-graham"""
)
FIRST_NAMES_FEMALE = words(
    """nikki sarah mary patricia jennifer linda elizabeth barbara susan jessica karen nancy lisa
    margaret sandra ashley kimberly emily donna michelle carol amanda melissa deborah stephanie
    rebecca laura sharon cynthia kathleen amy angela shirley anna brenda pamela emma nicole helen
    samantha katherine christine rachel carolyn janet catherine maria heather diane julie olivia
    victoria kelly lauren christina joan megan andrea hannah martha gloria teresa ann sara alice
    sophia grace natalie charlotte marie hillary theresa ursula kamala ivanka melania condoleezza
    madeleine federica jacinda yulia liz priti nicola"""
)
FIRST_NAMES = FIRST_NAMES_MALE | FIRST_NAMES_FEMALE
